/**
 * The cluster suite's own jest project (`npm run test:cluster`): its files end
 * in `.cluster.ts`, so neither the main run nor the fault suite picks them up,
 * and they run only against the PostgreSQL-backed Temporal server and the lab
 * that scripts/test-cluster.sh starts.
 */
const path = require('node:path');
// the main project's transforms (TypeScript, and jose, which ships ES modules only)
const { transform, transformIgnorePatterns } = require('../../jest.config.js');

module.exports = {
  rootDir: path.join(__dirname, '..', '..'),
  testEnvironment: 'node',
  roots: ['<rootDir>/test/cluster'],
  testMatch: ['**/*.cluster.ts'],
  transform,
  transformIgnorePatterns,
  testTimeout: 15 * 60 * 1000,
};

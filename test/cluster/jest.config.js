/**
 * The cluster suite's own jest project (`npm run test:cluster`): its files end
 * in `.cluster.ts`, so neither the main run nor the fault suite picks them up,
 * and they run only against the PostgreSQL-backed Temporal server and the lab
 * that scripts/test-cluster.sh starts.
 */
const path = require('node:path');

module.exports = {
  rootDir: path.join(__dirname, '..', '..'),
  testEnvironment: 'node',
  roots: ['<rootDir>/test/cluster'],
  testMatch: ['**/*.cluster.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
  testTimeout: 15 * 60 * 1000,
};

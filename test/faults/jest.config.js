/**
 * The fault suite's own jest project (`npm run test:faults`): its files end in
 * `.fault.ts`, so the main run (`*.test.ts`) never picks them up, and they run
 * only against the separate lab and Temporal server of scripts/test-faults.sh.
 */
const path = require('node:path');
// the main project's transforms (TypeScript, and jose, which ships ES modules only)
const { transform, transformIgnorePatterns } = require('../../jest.config.js');

module.exports = {
  rootDir: path.join(__dirname, '..', '..'),
  testEnvironment: 'node',
  roots: ['<rootDir>/test/faults'],
  testMatch: ['**/*.fault.ts'],
  transform,
  transformIgnorePatterns,
  testTimeout: 15 * 60 * 1000,
  // worker-kills.fault.ts runs its faults side by side, each on its own task queue
  maxConcurrency: 8,
};

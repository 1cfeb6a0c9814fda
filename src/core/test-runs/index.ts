// Test runs: what `campaign test ...`, the server and the TUI call.
export { listTestRuns, type TestRunListItem } from './list-test-runs.js';
export { type ShowTestRunResult, showTestRun } from './show-test-run.js';
export { startTestRun, type StartTestRunResult } from './start-test-run.js';
export { cancelTestRun, pauseTestRun, resumeTestRun } from './test-run-control.js';
export { findTestRun, getTestRun, type TestRun, type TestRunRecipient } from './test-run.repository.js';
export { testUserVars } from './test-user-vars.js';

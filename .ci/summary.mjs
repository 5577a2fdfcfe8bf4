// Prints vitest's JSON report as one plain closing line, "vitest: N passed, N failed, N skipped",
// the form CI log readers count. vitest's own summary ("Tests  1349 passed (1349)") is not one
// they know, and a tool's pytest-style line printed by a test (schemathesis) could be read as
// the run's closing line instead.
import { readFileSync } from 'node:fs';

const reportPath = process.argv[2];
let report;
try {
  report = JSON.parse(readFileSync(reportPath, 'utf8'));
} catch (error) {
  // typecheck or lint failed before vitest ran, or vitest itself crashed: no tests counted
  console.log(`no vitest report at ${reportPath} (${error instanceof Error ? error.message : String(error)})`);
  process.exit(0);
}
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`vitest: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);

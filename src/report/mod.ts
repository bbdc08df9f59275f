// Run reports: one self-contained HTML page per run folder (docs/reports.md).

export { renderReport } from "./html.ts";
export {
  type EvalRecord, type InspectionRecord, parseInspection, parseMetrics, readReportData, type ReportData, type ReportSource,
  type SkipRecord, type StepRecord,
} from "./run_data.ts";
export { writeFileAtomic, writeReport } from "./write.ts";

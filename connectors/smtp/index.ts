export { createReportMailer, ReportMailInvalidError } from './mailer';
export * from './types';

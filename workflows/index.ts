/** The worker's workflow bundle entry: deterministic code only. */
export { organisationWorkflow } from './organisation';
export { batchWorkflow } from './batch';
export { mailboxWorkflow } from './mailbox';
export { convertWorkflow } from './convert';
export { mailboxRecordWorkflow } from './record';
export { reportMailWorkflow } from './reportMail';

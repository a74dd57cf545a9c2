export { createDashboard, type DashboardHandler } from './dashboard.js';
export type { AuthorizationSource, DashboardOptions, ScanSource } from './options.js';
export type { BreakerView, ViewState } from './views.js';

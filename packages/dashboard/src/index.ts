export { createDashboard, type DashboardHandler } from './dashboard.js';
export type { DashboardOptions } from './options.js';
export type {
  AuthorizationSource,
  AuthorizationStatsView,
  DecisionCountsView,
  ScanSource,
  ScanStatsView,
} from './sources.js';
export type { BreakerView, ViewState } from './views.js';

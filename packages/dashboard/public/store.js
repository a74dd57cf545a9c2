// The page's model of the server's breakers: one record per breaker, in registry order, with a
// ring of per-interval calls and errors kept from the stats stream. Counts by state and by
// health status are kept as views change, so the header never walks 10,000 records.

export const STATES = ['closed', 'open', 'half_open', 'forced_open', 'disabled'];
const STATUS_RANK = { healthy: 0, warning: 1, degraded: 2, critical: 3 };
const STATUSES = Object.keys(STATUS_RANK);

function zeroCounts(keys) {
  return Object.fromEntries(keys.map((key) => [key, 0]));
}

export class BreakerStore {
  constructor() {
    this.records = [];
    this.byName = new Map();
    this.historyLength = 60;
    this.historyInterval = 1000;
    this.controls = false;
    /** Stats events seen since the last snapshot: a record's ring is padded up to it lazily. */
    this.tick = 0;
    /** Bumped when records are added or removed, so the filtered list is rebuilt. */
    this.structure = 0;
    this.stateCounts = zeroCounts(STATES);
    this.statusCounts = zeroCounts(STATUSES);
    this.authorization = undefined;
    this.scans = undefined;
  }

  load(snapshot) {
    this.records = [];
    this.byName.clear();
    this.stateCounts = zeroCounts(STATES);
    this.statusCounts = zeroCounts(STATUSES);
    this.tick = 0;
    this.controls = snapshot.controls === true;
    if (Number.isFinite(snapshot.historyInterval) && snapshot.historyInterval > 0) {
      this.historyInterval = snapshot.historyInterval;
    }
    let longest = 0;
    for (const view of snapshot.breakers) longest = Math.max(longest, view.history.calls.length);
    this.historyLength = Math.max(this.historyLength, longest);
    for (const view of snapshot.breakers) this.add(view);
    this.authorization = snapshot.authorization;
    this.scans = snapshot.scans;
    this.structure++;
  }

  /** Applies a `state` event, or a control's answer: returns the record it changed. */
  applyView(view) {
    const record = this.byName.get(view.name);
    if (record === undefined) {
      this.structure++;
      return this.add(view);
    }
    this.setView(record, view);
    return record;
  }

  /** Applies a `stats` event: returns true when breakers were added or removed. */
  applyStats(stats) {
    this.tick++;
    this.removeAll(stats.removed ?? []);
    for (const view of stats.added ?? []) {
      if (this.byName.has(view.name)) this.applyView(view);
      else this.add(view);
    }
    const structural = (stats.removed?.length ?? 0) + (stats.added?.length ?? 0) > 0;
    if (structural) this.structure++;
    for (const [name, change] of Object.entries(stats.changed ?? {})) {
      const record = this.byName.get(name);
      if (record === undefined) continue;
      const [calls, errors, rejections, failureRate] = change;
      this.pad(record, this.tick - 1);
      this.push(record, calls, errors);
      record.tick = this.tick;
      record.view.metrics.total += calls;
      record.view.metrics.failures += errors;
      record.view.metrics.rejections = rejections;
      record.view.metrics.failureRate = failureRate;
      record.version++;
    }
    if ('authorization' in stats) this.authorization = stats.authorization;
    if ('scans' in stats) this.scans = stats.scans;
    return structural;
  }

  /** The record's history up to now (intervals without a change are zero calls, zero errors). */
  history(record) {
    this.pad(record, this.tick);
    return record;
  }

  health() {
    let worst = 'healthy';
    for (const status of STATUSES) if (this.statusCounts[status] > 0) worst = status;
    return worst;
  }

  add(view) {
    const record = {
      name: view.name,
      lower: view.name.toLowerCase(),
      view: undefined,
      calls: view.history.calls.slice(-this.historyLength),
      errors: view.history.errors.slice(-this.historyLength),
      tick: this.tick,
      version: 0,
      /** A control sent for it and not yet answered. */
      pending: false,
    };
    this.setView(record, view);
    this.records.push(record);
    this.byName.set(record.name, record);
    return record;
  }

  // One pass over the records however many go: a per-key registry can drop thousands at once.
  removeAll(names) {
    const gone = new Set();
    for (const name of names) {
      const record = this.byName.get(name);
      if (record === undefined) continue;
      this.byName.delete(name);
      this.count(record.view, -1);
      gone.add(record);
    }
    if (gone.size > 0) this.records = this.records.filter((record) => !gone.has(record));
  }

  setView(record, view) {
    if (record.view !== undefined) this.count(record.view, -1);
    record.view = {
      state: view.state,
      criticality: view.criticality,
      status: view.status,
      metrics: { ...view.metrics },
      lastTransition: view.lastTransition,
      nextProbeAt: view.nextProbeAt,
    };
    this.count(record.view, 1);
    record.version++;
  }

  count(view, by) {
    if (view.state in this.stateCounts) this.stateCounts[view.state] += by;
    if (view.status in this.statusCounts) this.statusCounts[view.status] += by;
  }

  pad(record, upTo) {
    for (let missing = Math.min(upTo - record.tick, this.historyLength); missing > 0; missing--) {
      this.push(record, 0, 0);
    }
    if (upTo > record.tick) record.tick = upTo;
  }

  push(record, calls, errors) {
    record.calls.push(calls);
    record.errors.push(errors);
    if (record.calls.length > this.historyLength) {
      record.calls.shift();
      record.errors.shift();
    }
  }
}

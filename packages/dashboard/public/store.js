// The page's model of the server's breakers: one record per breaker, in registry order, with a
// ring of per-interval calls and errors kept from the stats stream. Counts by state and by
// health status are kept as views change, so the header never walks 10,000 records.

export const STATES = ['closed', 'open', 'half_open', 'forced_open', 'disabled'];
const STATUS_RANK = { healthy: 0, warning: 1, degraded: 2, critical: 3 };
const STATUSES = Object.keys(STATUS_RANK);

function isPositive(value) {
  return Number.isFinite(value) && value > 0;
}

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
    /** Bumped when a record's state changes, so a state filter is applied again. */
    this.membership = 0;
    /**
     * Names a `state` event added before any sample saw them: the next `stats` event lists them
     * as added, or they left the registry before the sampler met them and no `removed` will come.
     */
    this.unconfirmed = new Set();
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
    this.unconfirmed.clear();
    this.controls = snapshot.controls === true;
    if (isPositive(snapshot.historyInterval)) this.historyInterval = snapshot.historyInterval;
    if (isPositive(snapshot.historyLength)) this.historyLength = snapshot.historyLength;
    for (const view of snapshot.breakers) this.add(view);
    this.authorization = snapshot.authorization;
    this.scans = snapshot.scans;
    this.structure++;
  }

  /** Applies a `state` event: a breaker no sample has seen yet gets a row until the next one. */
  applyState(view) {
    const record = this.byName.get(view.name);
    if (record !== undefined) {
      this.setView(record, view);
      return;
    }
    this.add(view);
    this.unconfirmed.add(view.name);
  }

  /** Applies a control's answer, about a breaker the page shows (or no longer does). */
  applyAnswer(view) {
    const record = this.byName.get(view.name);
    if (record !== undefined) this.setView(record, view);
  }

  /** Applies a `stats` event. */
  applyStats(stats) {
    this.tick++;
    const added = new Map((stats.added ?? []).map((view) => [view.name, view]));
    // A name both removed and added is a breaker replaced or reset: its row stays where it is.
    this.removeAll((stats.removed ?? []).filter((name) => !added.has(name)));
    for (const view of added.values()) {
      this.unconfirmed.delete(view.name);
      const record = this.byName.get(view.name);
      if (record === undefined) this.add(view);
      else this.replace(record, view);
    }
    if (this.unconfirmed.size > 0) {
      this.removeAll(this.unconfirmed);
      this.unconfirmed.clear();
    }
    for (const [name, change] of Object.entries(stats.changed ?? {})) {
      const record = this.byName.get(name);
      if (record === undefined) continue;
      const [calls, errors, rejections, failureRate, total] = change;
      this.pad(record, this.tick - 1);
      this.push(record, calls, errors);
      record.tick = this.tick;
      const metrics = record.view.metrics;
      // The server's total when it sends one: after a reset a delta cannot say where it restarted.
      metrics.total = Number.isFinite(total) ? total : metrics.total + calls;
      metrics.failures += errors;
      metrics.rejections = rejections;
      metrics.failureRate = failureRate;
      record.version++;
    }
    if ('authorization' in stats) this.authorization = stats.authorization;
    if ('scans' in stats) this.scans = stats.scans;
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
      calls: [],
      errors: [],
      tick: 0,
      version: 0,
      /** A control sent for it and not yet answered. */
      pending: false,
    };
    this.replace(record, view);
    this.records.push(record);
    this.byName.set(record.name, record);
    this.structure++;
    return record;
  }

  /** Takes the server's whole view of a record, its history included. */
  replace(record, view) {
    record.calls = view.history.calls.slice(-this.historyLength);
    record.errors = view.history.errors.slice(-this.historyLength);
    record.tick = this.tick;
    this.setView(record, view);
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
    if (gone.size === 0) return;
    this.records = this.records.filter((record) => !gone.has(record));
    this.structure++;
  }

  setView(record, view) {
    if (record.view !== undefined) {
      this.count(record.view, -1);
      if (record.view.state !== view.state) this.membership++;
    }
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

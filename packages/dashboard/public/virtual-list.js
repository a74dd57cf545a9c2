// A list of fixed-height rows that keeps in the DOM only the rows in view plus a few either
// side, reusing them as it scrolls: 10,000 items cost as much to show as 40.

export class VirtualList {
  /**
   * @param {HTMLElement} viewport the scrolling element
   * @param {HTMLElement} spacer a child of the viewport sized to the whole list
   * @param {{ rowHeight: number, overscan: number, createRow: () => HTMLElement,
   *           bindRow: (row: HTMLElement, item: unknown) => void,
   *           keyOf: (item: unknown) => unknown }} options
   */
  constructor(viewport, spacer, { rowHeight, overscan, createRow, bindRow, keyOf }) {
    this.viewport = viewport;
    this.spacer = spacer;
    this.rowHeight = rowHeight;
    this.overscan = overscan;
    this.createRow = createRow;
    this.bindRow = bindRow;
    this.keyOf = keyOf;
    this.items = [];
    /**
     * Rows in use, by their item's key: an item that moves (one above it left the list) keeps
     * its row, so a focused button in it keeps its focus.
     */
    this.rows = new Map();
    this.spare = [];
    this.frame = 0;
    viewport.addEventListener('scroll', () => this.schedule(), { passive: true });
    new ResizeObserver(() => this.schedule()).observe(viewport);
  }

  setItems(items) {
    this.items = items;
    this.spacer.style.height = `${items.length * this.rowHeight}px`;
    this.schedule();
  }

  /** Renders on the next frame; many updates in one frame render once. */
  schedule() {
    if (this.frame !== 0) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  /** The rows in the DOM now, with the item each shows. */
  *visible() {
    for (const row of this.rows.values()) {
      if (row.item !== undefined) yield [row, row.item];
    }
  }

  render() {
    const height = this.viewport.clientHeight;
    const first = Math.max(0, Math.floor(this.viewport.scrollTop / this.rowHeight) - this.overscan);
    const last = Math.min(
      this.items.length,
      Math.ceil((this.viewport.scrollTop + height) / this.rowHeight) + this.overscan,
    );
    const wanted = new Set();
    for (let index = first; index < last; index++) wanted.add(this.keyOf(this.items[index]));
    for (const [key, row] of this.rows) {
      if (!wanted.has(key)) {
        this.rows.delete(key);
        // Detached, so a row that left the view is neither found by a query nor read aloud.
        row.remove();
        row.item = undefined;
        if (this.spare.length < this.overscan * 4) this.spare.push(row);
      }
    }
    // Each row goes right after the row before it: the DOM order (tab order, the order a
    // screen reader reads) is the order on screen. New rows are put around the kept ones, which
    // stay where they are unless the order itself changed.
    let previous;
    for (let index = first; index < last; index++) {
      const item = this.items[index];
      const key = this.keyOf(item);
      let row = this.rows.get(key);
      if (row === undefined) {
        row = this.spare.pop() ?? this.createRow();
        this.rows.set(key, row);
      }
      row.item = item;
      row.style.transform = `translateY(${index * this.rowHeight}px)`;
      const inPlace =
        row.parentNode === this.spacer &&
        (previous === undefined
          ? row === this.spacer.firstElementChild
          : previous.nextSibling === row);
      if (!inPlace) placeAfter(this.spacer, previous, row);
      // "Item 5,001 of 10,000", not "list, 23 items".
      row.setAttribute('aria-posinset', String(index + 1));
      row.setAttribute('aria-setsize', String(this.items.length));
      this.bindRow(row, item);
      previous = row;
    }
  }
}

/** Moves `row` after `previous` (first when none); a focus inside it survives the move. */
function placeAfter(spacer, previous, row) {
  const active = row.contains(document.activeElement) ? document.activeElement : undefined;
  if (previous === undefined) spacer.prepend(row);
  else previous.after(row);
  active?.focus({ preventScroll: true });
}

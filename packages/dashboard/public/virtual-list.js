// A list of fixed-height rows that keeps in the DOM only the rows in view plus a few either
// side, reusing them as it scrolls: 10,000 items cost as much to show as 40.

export class VirtualList {
  /**
   * @param {HTMLElement} viewport the scrolling element
   * @param {HTMLElement} spacer a child of the viewport sized to the whole list
   * @param {{ rowHeight: number, overscan: number, createRow: () => HTMLElement,
   *           bindRow: (row: HTMLElement, item: unknown) => void }} options
   */
  constructor(viewport, spacer, { rowHeight, overscan, createRow, bindRow }) {
    this.viewport = viewport;
    this.spacer = spacer;
    this.rowHeight = rowHeight;
    this.overscan = overscan;
    this.createRow = createRow;
    this.bindRow = bindRow;
    this.items = [];
    /** Rows in use, by item index; reused for other indexes as the view moves. */
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
    for (const [index, row] of this.rows) {
      const item = this.items[index];
      if (item !== undefined) yield [row, item];
    }
  }

  render() {
    const height = this.viewport.clientHeight;
    const first = Math.max(0, Math.floor(this.viewport.scrollTop / this.rowHeight) - this.overscan);
    const last = Math.min(
      this.items.length,
      Math.ceil((this.viewport.scrollTop + height) / this.rowHeight) + this.overscan,
    );
    for (const [index, row] of this.rows) {
      if (index < first || index >= last || row.item !== this.items[index]) {
        this.rows.delete(index);
        // Detached, so a row that left the view is neither found by a query nor read aloud.
        row.remove();
        row.item = undefined;
        if (this.spare.length < this.overscan * 4) this.spare.push(row);
      }
    }
    // The rows kept are in index order, and each new one goes right after the row before it:
    // the DOM order (tab order, the order a screen reader reads) is the order on screen. Kept
    // rows never move, so a focused button keeps its focus.
    let previous;
    for (let index = first; index < last; index++) {
      const item = this.items[index];
      let row = this.rows.get(index);
      if (row === undefined) {
        row = this.spare.pop() ?? this.createRow();
        row.item = item;
        row.style.transform = `translateY(${index * this.rowHeight}px)`;
        if (previous === undefined) this.spacer.prepend(row);
        else previous.after(row);
        this.rows.set(index, row);
      }
      // "Item 5,001 of 10,000", not "list, 23 items".
      row.setAttribute('aria-posinset', String(index + 1));
      row.setAttribute('aria-setsize', String(this.items.length));
      this.bindRow(row, item);
      previous = row;
    }
  }
}

/** A node of an {@link LruList}: the list's links live on the item itself. */
export interface LruNode<N> {
  older: N | undefined;
  newer: N | undefined;
}

/**
 * Items in order of last use, oldest first, as an intrusive doubly linked list: marking an
 * item used, adding and removing are a few pointer writes, with no allocation and none of
 * the holes a Map re-inserted into would leave for its iterators to skip.
 */
export class LruList<N extends LruNode<N>> {
  oldest: N | undefined;
  private newest: N | undefined;

  append(node: N): void {
    node.older = this.newest;
    node.newer = undefined;
    if (this.newest === undefined) this.oldest = node;
    else this.newest.newer = node;
    this.newest = node;
  }

  remove(node: N): void {
    if (node.older === undefined) this.oldest = node.newer;
    else node.older.newer = node.newer;
    if (node.newer === undefined) this.newest = node.older;
    else node.newer.older = node.older;
    node.older = node.newer = undefined;
  }

  /** Marks `node` the most recently used. */
  use(node: N): void {
    if (node === this.newest) return;
    this.remove(node);
    this.append(node);
  }
}

/**
 * The hand-over between the source reader and the target writer: a FIFO
 * bounded by bytes, so FETCH can run ahead of APPEND without letting a
 * slow target pull a whole mailbox into memory.
 */
export class ByteBoundedQueue<T> {
  private items: Array<{ value: T; bytes: number }> = [];
  private bytes = 0;
  private closed = false;
  private failure: { error: unknown } | undefined;
  private wakeReader: (() => void) | undefined;
  private wakeWriter: (() => void) | undefined;

  constructor(private readonly maxBytes: number) {}

  /** Waits while the queue is full; one item larger than the bound is still admitted alone. */
  async push(value: T, bytes: number): Promise<void> {
    while (!this.failure && this.items.length > 0 && this.bytes + bytes > this.maxBytes) {
      await new Promise<void>((resolve) => (this.wakeWriter = resolve));
    }
    if (this.failure) throw this.failure.error;
    this.items.push({ value, bytes });
    this.bytes += bytes;
    this.wake('reader');
  }

  /** The next item, or undefined once the writer closed the queue and it is drained. */
  async shift(): Promise<T | undefined> {
    while (this.items.length === 0) {
      if (this.failure) throw this.failure.error;
      if (this.closed) return undefined;
      await new Promise<void>((resolve) => (this.wakeReader = resolve));
    }
    const item = this.items.shift() as { value: T; bytes: number };
    this.bytes -= item.bytes;
    this.wake('writer');
    return item.value;
  }

  close(): void {
    this.closed = true;
    this.wake('reader');
  }

  /** Either side gave up: the other side sees the error on its next call. */
  fail(error: unknown): void {
    if (!this.failure) this.failure = { error };
    this.items = [];
    this.bytes = 0;
    this.wake('reader');
    this.wake('writer');
  }

  private wake(side: 'reader' | 'writer'): void {
    const fn = side === 'reader' ? this.wakeReader : this.wakeWriter;
    if (side === 'reader') this.wakeReader = undefined;
    else this.wakeWriter = undefined;
    fn?.();
  }
}

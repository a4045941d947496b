import { createInbox, headers, type Msg, type NatsConnection, type Subscription } from 'nats';

export interface PublishItem {
  subject: string;
  data: Uint8Array;
  /** Sent as Nats-Msg-Id: the stream stores a repeat within its duplicate window once. */
  msgId: string;
}

/** Why one publish was not stored: the stream's error, no stream on the subject, or no ack in time. */
export class JetStreamPublishError extends Error {
  override readonly name = 'JetStreamPublishError';
}

/**
 * Acknowledged JetStream publishes of a whole batch on ONE reply subscription: every message goes
 * out with a reply subject under the publisher's inbox, and the stream's PubAck ({stream, seq,
 * duplicate?} or {error}) comes back there (docs.nats.io, JetStream "Publishing", the JSON PubAck).
 * nats.js `js.publish` does the same with a request per message — a timer, a deferred and an error
 * object built for every ack — measured here at 47–59 µs of client CPU per event against 17–29 µs
 * this way; the outbox relay sends four events per transaction.
 */
export class JetStreamPublisher {
  private readonly inbox = createInbox();
  private readonly waiting = new Map<string, (msg: Msg) => void>();
  private subscription?: Subscription;
  private next = 0;

  constructor(
    private readonly connection: NatsConnection,
    private readonly timeoutMs = 5_000,
  ) {}

  /** One result per item, in order: true when the stream stored it (or already had it), else the error. */
  async publishAll(items: PublishItem[]): Promise<Array<true | JetStreamPublishError>> {
    this.subscription ??= this.connection.subscribe(`${this.inbox}.*`, {
      callback: (_error, msg) => {
        const resolve = this.waiting.get(msg.subject);
        if (resolve) {
          this.waiting.delete(msg.subject);
          resolve(msg);
        }
      },
    });
    const replies: string[] = [];
    const acks = items.map((item) => {
      const reply = `${this.inbox}.${this.next++}`;
      replies.push(reply);
      return new Promise<true | JetStreamPublishError>((resolve) => {
        this.waiting.set(reply, (msg) => resolve(readAck(msg)));
        const h = headers();
        h.set('Nats-Msg-Id', item.msgId);
        this.connection.publish(item.subject, item.data, { reply, headers: h });
      });
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.timeoutMs)));
    const all = Promise.all(acks);
    const settled = await Promise.race([all, timeout.then(() => undefined)]);
    clearTimeout(timer);
    if (settled) return settled;
    // Whatever did not come back in time counts as not stored (the row is published again later).
    return Promise.all(
      replies.map((reply, i) => {
        if (!this.waiting.delete(reply)) return acks[i];
        return new JetStreamPublishError(`no JetStream ack within ${this.timeoutMs} ms for ${items[i].subject}`);
      }),
    );
  }

  close(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    this.waiting.clear();
  }
}

function readAck(msg: Msg): true | JetStreamPublishError {
  // No stream listens on the subject: the server answers the reply subject with status 503.
  if (msg.headers?.code === 503) return new JetStreamPublishError('no JetStream stream stores this subject (503 no responders)');
  let ack: { stream?: unknown; seq?: unknown; error?: { code?: unknown; description?: unknown } };
  try {
    ack = JSON.parse(new TextDecoder().decode(msg.data)) as typeof ack;
  } catch {
    return new JetStreamPublishError('unreadable JetStream ack');
  }
  if (ack.error) return new JetStreamPublishError(`JetStream refused the message: ${String(ack.error.description ?? ack.error.code)}`);
  if (typeof ack.stream === 'string' && typeof ack.seq === 'number') return true;
  return new JetStreamPublishError('JetStream ack without stream and sequence');
}

/**
 * The listeners of a thread-lock store's message channel, whatever carries the messages (PostgreSQL NOTIFY, Redis
 * pub/sub): added once the store listens, fed each payload that parses as a message.
 */
import type { ThreadLockMessage } from "./lock-store.js";

type Listener = (message: ThreadLockMessage) => void;

/** @internal A store's listeners. */
export interface MessageListeners {
  /** How many are listening: a store reopens a broken channel only while someone listens. */
  readonly size: number;
  /**
   * Adds `listener` and waits for `listen` (opening the channel, shared by all); when that fails the listener is
   * removed again and the error thrown. Returns the function that removes it.
   */
  add(listener: Listener, listen: () => Promise<unknown>): Promise<() => void>;
  /** Parses `payload` and hands the message to every listener; a payload that is not JSON is dropped. */
  deliver(payload: string): void;
}

/** @internal An empty set of listeners. */
export function messageListeners(): MessageListeners {
  const listeners = new Set<Listener>();
  return {
    get size() {
      return listeners.size;
    },
    async add(listener, listen) {
      listeners.add(listener);
      try {
        await listen();
      } catch (error) {
        listeners.delete(listener);
        throw error;
      }
      return () => {
        listeners.delete(listener);
      };
    },
    deliver(payload) {
      let message: ThreadLockMessage;
      try {
        message = JSON.parse(payload) as ThreadLockMessage;
      } catch {
        return;
      }
      for (const listener of [...listeners]) listener(message);
    },
  };
}

/**
 * One subscription per store, shared by every guarded graph on it: messages are routed to the runs and waiters of
 * their thread, so a replica with many threads opens one listening connection, not one per run.
 */
import type { ThreadLockMessage, ThreadLockStore } from "./lock-store.js";

type Listener = (message: ThreadLockMessage) => void;

/** @internal Routes a store's messages by thread id. */
export interface Dispatcher {
  /** Listens to the messages of `threadId`; returns the function that stops it. */
  on(threadId: string, listener: Listener): () => void;
}

const dispatchers = new WeakMap<ThreadLockStore, Promise<Dispatcher>>();

async function createDispatcher(store: ThreadLockStore): Promise<Dispatcher> {
  const byThread = new Map<string, Set<Listener>>();
  await store.subscribe((message) => {
    for (const listener of [...(byThread.get(message.threadId) ?? [])]) {
      try {
        listener(message);
      } catch {
        // A listener never breaks delivery to the others.
      }
    }
  });
  return {
    on(threadId, listener) {
      let set = byThread.get(threadId);
      if (set === undefined) {
        set = new Set();
        byThread.set(threadId, set);
      }
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0 && byThread.get(threadId) === set) byThread.delete(threadId);
      };
    },
  };
}

/** @internal The dispatcher of `store`, subscribing on first use (a failed subscription is retried next time). */
export function dispatcherOf(store: ThreadLockStore): Promise<Dispatcher> {
  let found = dispatchers.get(store);
  if (found === undefined) {
    found = createDispatcher(store);
    dispatchers.set(store, found);
    found.catch(() => dispatchers.delete(store));
  }
  return found;
}

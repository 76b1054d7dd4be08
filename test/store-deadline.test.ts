import { describe, expect, it } from "vitest";
import { IdempotencyStoreError, classifyError } from "../src/index.js";
import { operationTimeoutOption, startDeadline, storeTimeoutError } from "../src/resilience/store-deadline.js";

const later = <T>(ms: number, value: T): Promise<T> => new Promise((r) => setTimeout(() => r(value), ms));
const failLater = (ms: number): Promise<never> => new Promise((_, reject) => setTimeout(() => reject(new Error("late failure")), ms));

describe("store operation deadlines", () => {
  it("settle with the driver's answer in time and leave no timer behind", async () => {
    const before = process.getActiveResourcesInfo().filter((t) => t === "Timeout").length;
    const deadline = startDeadline(1000, () => storeTimeoutError("RedisIdempotencyStore", "claim", 1000));
    await expect(deadline.race(later(5, "A"))).resolves.toBe("A");
    await expect(deadline.race(Promise.reject(new Error("NOPERM")))).rejects.toThrow("NOPERM");
    deadline.clear();
    expect(deadline.expired).toBe(false);
    expect(process.getActiveResourcesInfo().filter((t) => t === "Timeout").length).toBeLessThanOrEqual(before);
  });

  it("reject at the deadline with the store's error, hand a late answer to onLate and drop a late failure", async () => {
    const late: string[] = [];
    const deadline = startDeadline(20, () => storeTimeoutError("PostgresIdempotencyStore", "complete", 20));
    const error = await deadline.race(later(80, "granted"), (value) => late.push(value)).catch((e: unknown) => e);
    expect(deadline.expired).toBe(true);
    expect(error).toBeInstanceOf(IdempotencyStoreError);
    expect(error).toMatchObject({
      message:
        "PostgresIdempotencyStore.complete failed: no answer within 20 ms (operationTimeoutMs); the server is unreachable, frozen or overloaded",
      store: "PostgresIdempotencyStore",
      operation: "complete",
      timeoutMs: 20,
      code: "ETIMEDOUT",
    });
    expect(classifyError(error)).toEqual({ retryable: true, countsAsFailure: true, reason: "timeout" });
    // A driver call started after the deadline fails at once; its answer, too, goes to onLate.
    await expect(deadline.race(later(5, "after"), (value) => late.push(value))).rejects.toBe(error);
    // A late failure must not surface as an unhandled rejection (vitest fails the run on one).
    await expect(deadline.race(failLater(5))).rejects.toBe(error);
    await later(120, undefined);
    expect(late.sort()).toEqual(["after", "granted"]);
    deadline.clear();
  });

  it("classify a store failure that is not a deadline by its driver code, as before", () => {
    const refused = new IdempotencyStoreError("RedisIdempotencyStore", "claim", "connect ECONNREFUSED", { code: "ECONNREFUSED" });
    expect(classifyError(refused)).toMatchObject({ retryable: true, reason: "network" });
    expect(refused.timeoutMs).toBeUndefined();
  });

  it("recognise an IdempotencyStoreError made by another copy of the class (the CommonJS subpath bundles)", () => {
    const fromOtherCopy = Object.defineProperty(
      new Error("RedisIdempotencyStore.claim failed: …"),
      Symbol.for("langgraph-ops.IdempotencyStoreError"),
      {
        value: true,
      },
    );
    expect(fromOtherCopy).toBeInstanceOf(IdempotencyStoreError);
    expect(new Error("other")).not.toBeInstanceOf(IdempotencyStoreError);
    expect(new IdempotencyStoreError("S", "claim", "x")).toBeInstanceOf(Error);
  });

  it("validate operationTimeoutMs with the kit's message", () => {
    expect(operationTimeoutOption(undefined, "S(options)")).toBe(5000);
    expect(operationTimeoutOption(1, "S(options)")).toBe(1);
    expect(() => operationTimeoutOption(0, "S(options)")).toThrow(
      new TypeError("S(options).operationTimeoutMs must be an integer >= 1 and <= 2147483647, got 0"),
    );
  });
});

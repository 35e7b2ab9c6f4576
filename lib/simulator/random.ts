import { randomInt } from "node:crypto";

/** A source of uniformly distributed numbers in [0, 1), like `Math.random`. */
export type RandomSource = () => number;

/**
 * mulberry32: a tiny 32-bit seeded PRNG. Good enough to pick faults and latencies, and the same
 * seed always yields the same sequence, which is what makes a fault run reproducible.
 */
export function mulberry32(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A fresh seed for runs that did not ask for one; the simulator reports it so a run can be replayed. */
export function randomSeed(): number {
  return randomInt(0, 2 ** 31);
}

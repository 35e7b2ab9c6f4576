import { type Claim, claimedItem, type LedgerItem } from "../../lib/ledger/index.ts";

/** The time every case is judged at. */
export const NOW = Date.parse("2026-11-30T12:00:00Z");

/** The claim every case is judged for: fingerprint `fp-1`, owner `owner-1`, at {@link NOW}. */
export const CASE_CLAIM: Claim = {
  orderRef: "ORDER-1",
  tenantId: "tenant-1",
  fingerprint: "fp-1",
  correlationId: "corr-1",
  attempt: 1,
  firstReceivedAt: NOW - 1_000,
  owner: "owner-1",
  now: NOW,
  leaseMs: 60_000,
  ttlSeconds: 1_209_600,
};

/** An item held by another delivery, with these fields replaced. */
const held = (overrides: Partial<LedgerItem>): LedgerItem => ({
  ...claimedItem(undefined, { ...CASE_CLAIM, owner: "owner-0", now: NOW - 30_000 }),
  ...overrides,
});

/** One case of the claim's decision: what the ledger holds, and what a claim meets there. */
export interface ClaimCase {
  name: string;
  existing: LedgerItem | undefined;
  kind: "claimable" | "busy" | "duplicate" | "conflict";
  readFirst?: boolean;
}

/**
 * The claim's decision, case by case: `judgeClaim` must give these, and so must the store's conditional
 * write on a real DynamoDB protocol peer (dynalite), which is how the two are kept the same.
 */
export const CLAIM_CASES: ClaimCase[] = [
  { name: "no item", existing: undefined, kind: "claimable", readFirst: false },
  {
    name: "waiting, every try answered",
    existing: held({ state: "waiting", mayExist: false }),
    kind: "claimable",
    readFirst: false,
  },
  {
    name: "waiting after a try that may have reached Imburse",
    existing: held({ state: "waiting", mayExist: true }),
    kind: "claimable",
    readFirst: true,
  },
  {
    name: "dead-lettered (a redrive)",
    existing: held({ state: "dead-lettered", deadLetterKind: "retries-exhausted" }),
    kind: "claimable",
    readFirst: false,
  },
  {
    name: "dead-lettered, may exist",
    existing: held({ state: "dead-lettered", mayExist: true }),
    kind: "claimable",
    readFirst: true,
  },
  {
    name: "claimed, lease ended (the delivery died)",
    existing: held({ leaseExpiresAt: NOW }),
    kind: "claimable",
    readFirst: true,
  },
  { name: "claimed, lease live", existing: held({ leaseExpiresAt: NOW + 1 }), kind: "busy" },
  {
    name: "claimed without a lease end (a hand-edited item)",
    existing: held({ leaseExpiresAt: undefined }),
    kind: "claimable",
    readFirst: true,
  },
  {
    name: "its own claim, met again by a retried write",
    existing: held({ leaseOwner: "owner-1", leaseExpiresAt: NOW + 60_000 }),
    kind: "claimable",
    readFirst: true,
  },
  {
    name: "a state it does not know",
    existing: held({ state: "archived" as LedgerItem["state"] }),
    kind: "claimable",
    readFirst: false,
  },
  { name: "submitted, same content", existing: held({ state: "submitted" }), kind: "duplicate" },
  // A completed order stays complete when the lease of the delivery that completed it has ended.
  {
    name: "submitted, its lease ended",
    existing: held({ state: "submitted", leaseExpiresAt: NOW }),
    kind: "duplicate",
  },
  { name: "already-existed, same content", existing: held({ state: "already-existed" }), kind: "duplicate" },
  {
    name: "submitted, other content",
    existing: held({ state: "submitted", fingerprint: "fp-2" }),
    kind: "conflict",
  },
  {
    name: "submitted but expired: absent",
    existing: held({ state: "submitted", expiresAt: NOW / 1000 }),
    kind: "claimable",
    readFirst: false,
  },
  {
    name: "claimed with a live lease but expired",
    existing: held({ leaseExpiresAt: NOW + 5_000, expiresAt: NOW / 1000 - 1 }),
    kind: "claimable",
    readFirst: true,
  },
];

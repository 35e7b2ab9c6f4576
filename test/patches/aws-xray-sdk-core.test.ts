import { execFileSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import AWSXRay from "aws-xray-sdk-core";
import { afterEach, describe, expect, it, vi } from "vitest";

// aws-xray-sdk-core as patches/aws-xray-sdk-core+3.12.0.patch leaves it: a subsegment sent to the daemon is
// serialized once, and the debug line reuses that text instead of serializing it again; semver, which only the
// AWS SDK v2 patcher uses, loads when that patcher is called, not with the SDK.

const { Segment } = AWSXRay;
const defaultLogger = AWSXRay.getLogger();
// The SDK's own default when the variable is unset.
const defaultDaemon = process.env.AWS_XRAY_DAEMON_ADDRESS ?? "127.0.0.1:2000";
afterEach(() => {
  AWSXRay.setLogger(defaultLogger);
  AWSXRay.setDaemonAddress(defaultDaemon);
  vi.restoreAllMocks();
});

describe("the patched X-Ray segment emitter", () => {
  it("serializes a sent subsegment once; the debug line carries the very document the daemon got", async () => {
    const daemon = createSocket("udp4");
    daemon.bind(0, "127.0.0.1");
    await once(daemon, "listening");
    try {
      const { promise: debugLine, resolve } = Promise.withResolvers<string>();
      const debug = (line: string) => line.startsWith("UDP message sent: ") && resolve(line);
      AWSXRay.setLogger({ debug, info() {}, warn() {}, error() {} });
      AWSXRay.setDaemonAddress(`127.0.0.1:${daemon.address().port}`);
      const segment = new Segment("patch-test");
      const subsegment = segment.addNewSubsegment("## order");
      subsegment.close();
      const serialize = vi.spyOn(Object.getPrototypeOf(subsegment), "serialize");
      const received = once(daemon, "message");
      subsegment.flush();
      const [message] = (await received) as [Buffer];
      const [, document] = message.toString().split("\n");
      expect(JSON.parse(document!)).toMatchObject({
        name: "## order",
        type: "subsegment",
        parent_id: segment.id,
      });
      // After the send's callback, where the unpatched SDK serializes a second time for the debug line.
      expect(await debugLine).toBe(`UDP message sent: ${document}`);
      expect(serialize).toHaveBeenCalledTimes(1);
    } finally {
      daemon.close();
    }
  });

  it("loads without semver; the AWS SDK v2 patcher still refuses an SDK older than it supports", () => {
    // A fresh process: this one may have loaded semver for something else.
    const loadedSemver = execFileSync(
      process.execPath,
      [
        "-e",
        "require('aws-xray-sdk-core'); console.log(Object.keys(require.cache).some((f) => /[\\/]node_modules[\\/]semver[\\/]/.test(f)))",
      ],
      { encoding: "utf8" },
    );
    expect(loadedSemver.trim()).toBe("false");
    expect(() => AWSXRay.captureAWS({ VERSION: "2.7.14" })).toThrow(
      "AWS SDK version 2.7.15 or greater required.",
    );
  });
});

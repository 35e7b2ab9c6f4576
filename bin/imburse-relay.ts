#!/usr/bin/env node
import { main } from "../lib/cli/index.ts";

// Exit explicitly: SDK clients and servers stopped by a command may leave idle handles behind.
process.exit(await main(process.argv, { stdout: process.stdout, stderr: process.stderr, env: process.env }));

// An independent ActivityPub peer built with Fedify, for fedi's interop tests.
//
//   node_modules/.bin/node peer.mjs --port PORT [--host 127.0.0.1] [--username alice]
//                                   [--exit-on-stdin-close]
//
// --port 0 lets the system pick a free port. Once listening, the peer prints one line
// `LISTENING <port> <actor-url>` on stdout; everything else (logs) goes to stderr.
// Log level: env FEDIFY_PEER_LOG_LEVEL (debug, info, warning [default], error).
//
// It serves one actor (a Person, RSA + Ed25519 keys made at start, kept in memory) with
// inbox, outbox, followers and following, plus a JSON control API under /_control/ that
// the Python helper (tests/interop/fedify_peer.py) drives. There is no message queue:
// every sendActivity() delivers before it returns, and inbox listeners run before the
// inbox answers (so an auto-Accept of a Follow is delivered before the Follow's POST gets
// its 202). That keeps tests deterministic: when a control call returns, its deliveries
// are done (or the call failed with the delivery error).

import http from "node:http";
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createFederation, generateCryptoKeyPair, MemoryKvStore, signRequest } from "@fedify/fedify";
import {
  Accept,
  Activity,
  Announce,
  Application,
  Create,
  Delete,
  Endpoints,
  Follow,
  isActor,
  Like,
  Mention,
  Note,
  Person,
  PUBLIC_COLLECTION,
  Reject,
  Tombstone,
  Undo,
  Update,
} from "@fedify/vocab";
import { Temporal } from "@js-temporal/polyfill";
import { configure, defaultTextFormatter, getLogger } from "@logtape/logtape";

// ---------------------------------------------------------------- arguments, logging

function parseArgs(argv) {
  const opts = { port: 0, host: "127.0.0.1", username: "alice", exitOnStdinClose: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--port") opts.port = Number.parseInt(argv[++i], 10);
    else if (arg === "--host") opts.host = argv[++i];
    else if (arg === "--username") opts.username = argv[++i];
    else if (arg === "--exit-on-stdin-close") opts.exitOnStdinClose = true;
    else {
      process.stderr.write(`unknown argument: ${arg}\n`);
      process.exit(2);
    }
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    process.stderr.write("--port needs a number between 0 and 65535\n");
    process.exit(2);
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const USER = opts.username;
// A Mastodon-style instance actor, which subscribes to relays (as Mastodon servers do).
const APP = "instance.actor";
const LOG_LEVEL = process.env.FEDIFY_PEER_LOG_LEVEL || "warning";

await configure({
  sinks: { stderr: (record) => process.stderr.write(defaultTextFormatter(record)) },
  loggers: [
    { category: "fedify", lowestLevel: LOG_LEVEL, sinks: ["stderr"] },
    { category: "peer", lowestLevel: LOG_LEVEL === "debug" ? "debug" : "info", sinks: ["stderr"] },
    { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
  ],
});
const log = getLogger(["peer"]);

const FEDIFY_VERSION = JSON.parse(
  readFileSync(new URL("./node_modules/@fedify/fedify/package.json", import.meta.url), "utf8"),
).version;

// ---------------------------------------------------------------- state (all in memory)

// RSA 2048 like Mastodon (Fedify's generateCryptoKeyPair makes 4096-bit keys, slower to make).
const keyPairs = [
  await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  ),
  await generateCryptoKeyPair("Ed25519"),
];
const received = []; // inbox entries, oldest first
const requests = []; // every non-control HTTP request served
const errors = []; // inbox listener errors
const followers = new Map(); // follower actor id -> { actor, followId }
const following = new Map(); // target actor id -> { target, followId, accepted, rejected, actor }
const notes = new Map(); // note uuid -> { note, recipients, deleted }
const sent = new Map(); // activity id -> { activity, json, recipients }
const outbox = []; // sent activities, oldest first

// The body of the inbox POST being handled, so that listeners record what the sender sent
// (no queue: listeners run inside the request's async context).
const currentBody = new AsyncLocalStorage();

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// ---------------------------------------------------------------- server + federation

const server = http.createServer((req, res) => {
  handle(req, res).catch((error) => {
    log.error("unhandled error on {method} {url}: {error}", { method: req.method, url: req.url, error });
    if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: String(error?.stack ?? error) }));
  });
});
await new Promise((resolve, reject) => {
  server.once("error", reject);
  server.listen(opts.port, opts.host, resolve);
});
const PORT = server.address().port;
const ORIGIN = `http://${opts.host.includes(":") ? `[${opts.host}]` : opts.host}:${PORT}`;

const federation = createFederation({
  kv: new MemoryKvStore(),
  origin: ORIGIN,
  allowPrivateAddress: true,
  userAgent: { software: `fedi-interop-fedify-peer (Fedify ${FEDIFY_VERSION})` },
});

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier === APP) return await instanceActor(ctx);
    if (identifier !== USER) return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: identifier[0].toUpperCase() + identifier.slice(1),
      summary: "A Fedify peer used by fedi's interop tests.",
      url: ctx.getActorUri(identifier),
      inbox: ctx.getInboxUri(identifier),
      outbox: ctx.getOutboxUri(identifier),
      followers: ctx.getFollowersUri(identifier),
      following: ctx.getFollowingUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      manuallyApprovesFollowers: false,
      publicKey: keys[0].cryptographicKey,
      assertionMethods: keys.map((k) => k.multikey),
    });
  })
  .setKeyPairsDispatcher((_ctx, identifier) => (identifier === USER || identifier === APP ? keyPairs : []));

async function instanceActor(ctx) {
  const keys = await ctx.getActorKeyPairs(APP);
  return new Application({
    id: ctx.getActorUri(APP),
    preferredUsername: APP,
    url: ctx.getActorUri(APP),
    inbox: ctx.getInboxUri(APP),
    outbox: ctx.getOutboxUri(APP),
    endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
    manuallyApprovesFollowers: true,
    publicKey: keys[0].cryptographicKey,
    assertionMethods: keys.map((k) => k.multikey),
  });
}

federation.setObjectDispatcher(Note, "/users/{identifier}/notes/{id}", (_ctx, values) => {
  if (values.identifier !== USER) return null;
  const entry = notes.get(values.id);
  return entry && !entry.deleted ? entry.note : null;
});

federation
  .setFollowersDispatcher("/users/{identifier}/followers", (_ctx, identifier) => {
    if (identifier !== USER) return null;
    return { items: [...followers.values()].map((f) => f.actor) };
  })
  .setCounter((_ctx, identifier) => (identifier === USER ? followers.size : null));

federation
  .setFollowingDispatcher("/users/{identifier}/following", (_ctx, identifier) => {
    if (identifier !== USER) return null;
    return { items: [...following.values()].filter((f) => f.accepted).map((f) => new URL(f.target)) };
  })
  .setCounter((_ctx, identifier) =>
    identifier === USER ? [...following.values()].filter((f) => f.accepted).length : null
  );

federation
  .setOutboxDispatcher("/users/{identifier}/outbox", (_ctx, identifier) => {
    if (identifier !== USER) return null;
    return { items: outbox.slice().reverse() };
  })
  .setCounter((_ctx, identifier) => (identifier === USER ? outbox.length : null));

// Inbox listeners. Fedify calls only the listener of the nearest registered class, and
// only for activities whose HTTP signature (or proof) it verified; the others reach
// onUnverifiedActivity and are answered 401.
federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Follow, async (ctx, follow) => {
    await record(ctx, follow, { verified: true });
    if (follow.objectId?.href !== ctx.getActorUri(USER).href) return;
    const follower = await follow.getActor(ctx);
    if (!isActor(follower) || follower.id == null) {
      throw new Error(`Follow ${follow.id?.href}: could not dereference its actor`);
    }
    followers.set(follower.id.href, { actor: follower, followId: follow.id?.href ?? null });
    const accept = new Accept({
      id: newActivityId(ctx),
      actor: ctx.getActorUri(USER),
      object: follow,
      to: follower.id,
    });
    await send(ctx, [follower], accept);
  })
  .on(Undo, async (ctx, undo) => {
    const entry = await record(ctx, undo, { verified: true });
    const object = entry.raw?.object;
    const objectType = typeof object === "object" && object != null ? object.type : null;
    const objectId = undo.objectId?.href;
    const actorId = undo.actorId?.href;
    const f = actorId && followers.get(actorId);
    if (f && (objectType === "Follow" || (objectId != null && objectId === f.followId))) {
      followers.delete(actorId);
    }
  })
  .on(Accept, async (ctx, accept) => {
    await record(ctx, accept, { verified: true });
    const f = findOwnFollow(accept);
    if (f) {
      f.accepted = true;
      f.rejected = false;
    }
  })
  .on(Reject, async (ctx, reject) => {
    await record(ctx, reject, { verified: true });
    const f = findOwnFollow(reject);
    if (f) {
      f.accepted = false;
      f.rejected = true;
    }
  })
  .on(Activity, async (ctx, activity) => {
    await record(ctx, activity, { verified: true });
  })
  .onUnverifiedActivity(async (ctx, activity, reason) => {
    log.warn("unverified {type} {id}: {reason}", {
      type: activity.constructor.name,
      id: activity.id?.href,
      reason: JSON.stringify(reason),
    });
    await record(ctx, activity, { verified: false, reason: describeReason(reason) });
    // Returning nothing keeps Fedify's 401.
  })
  .onError((_ctx, error) => {
    log.error("inbox listener error: {error}", { error });
    errors.push({ error: String(error?.stack ?? error), at: new Date().toISOString() });
  });

function findOwnFollow(activity) {
  const objectId = activity.objectId?.href;
  for (const f of following.values()) {
    if (objectId != null && f.followId === objectId) return f;
  }
  // Some servers answer with an Accept whose object is not our Follow's id
  // (e.g. an embedded Follow without id): fall back to the accepting actor.
  const actorId = activity.actorId?.href;
  return actorId ? following.get(actorId) ?? null : null;
}

function describeReason(reason) {
  if (reason == null) return null;
  const out = { type: reason.type };
  if (reason.keyId) out.keyId = reason.keyId.href;
  if (reason.result) {
    out.result = {};
    for (const [k, v] of Object.entries(reason.result)) {
      out.result[k] = v instanceof URL ? v.href : v instanceof Error ? String(v) : v;
    }
  }
  return out;
}

async function record(ctx, activity, extra) {
  let parsed = null;
  try {
    parsed = await activity.toJsonLd({ format: "compact", contextLoader: ctx.contextLoader });
  } catch (error) {
    log.error("could not serialise a received activity: {error}", { error });
  }
  let raw = null;
  const body = currentBody.getStore();
  if (body != null) {
    try {
      raw = JSON.parse(body.toString("utf8"));
    } catch {
      raw = null;
    }
  }
  // An activity whose body we do not have (or whose id differs: e.g. routed) gets Fedify's view.
  if (raw == null || typeof raw !== "object" || (activity.id && raw.id !== activity.id.href)) raw = parsed;
  const entry = {
    type: raw?.type ?? parsed?.type ?? activity.constructor.name,
    id: activity.id?.href ?? null,
    actor: activity.actorId?.href ?? null,
    object: raw?.object ?? activity.objectId?.href ?? null,
    raw, // the JSON as the sender sent it
    parsed, // Fedify's understanding of it, compacted again by Fedify
    verified: extra.verified,
    recipient: ctx.recipient ?? null,
    receivedAt: new Date().toISOString(),
  };
  if (extra.reason !== undefined) entry.reason = extra.reason;
  received.push(entry);
  log.info("received {type} {id} from {actor} (verified: {verified})", entry);
  return entry;
}

// ---------------------------------------------------------------- sending

function newActivityId(ctx) {
  return new URL(`/users/${USER}/activities/${randomUUID()}`, ctx.canonicalOrigin);
}

async function send(ctx, recipients, activity) {
  // Keep the activity dereferenceable at its id (served by the HTTP layer below).
  const json = await activity.toJsonLd({ format: "compact", contextLoader: ctx.contextLoader });
  sent.set(activity.id.href, { activity, json, recipients });
  outbox.push(activity);
  if (recipients === "followers") {
    await ctx.sendActivity({ identifier: USER }, "followers", activity, { preferSharedInbox: true });
  } else if (recipients.length > 0) {
    await ctx.sendActivity({ identifier: USER }, recipients, activity);
  }
}

async function lookupActor(ctx, target) {
  if (typeof target !== "string" || target === "") throw new HttpError(400, "an actor URL is needed");
  let actor = null;
  let lastError = null;
  try {
    actor = await ctx.lookupObject(target);
  } catch (error) {
    lastError = error;
  }
  if (!isActor(actor)) {
    // The server may want signed fetches (authorized fetch): try again signed as alice.
    try {
      const documentLoader = await ctx.getDocumentLoader({ identifier: USER });
      actor = await ctx.lookupObject(target, { documentLoader });
    } catch (error) {
      lastError = error;
    }
  }
  if (!isActor(actor) || actor.id == null) {
    throw new HttpError(
      422,
      `could not look up an actor at ${target}` + (lastError ? `: ${lastError}` : ` (got ${actor?.constructor?.name ?? "nothing"})`),
    );
  }
  return actor;
}

function findNote(id) {
  if (typeof id !== "string") throw new HttpError(400, "a note id is needed");
  for (const entry of notes.values()) {
    if (entry.note.id?.href === id) return entry;
  }
  throw new HttpError(404, `no note of ours with id ${id}`);
}

function now() {
  return Temporal.Now.instant();
}

function need(body, field) {
  const value = body[field];
  if (typeof value !== "string" || value === "") throw new HttpError(400, `"${field}" (a string) is needed`);
  return value;
}

// ---------------------------------------------------------------- control API

const control = {
  "GET /_control/health": (ctx) => ({
    ok: true,
    actor: ctx.getActorUri(USER).href,
    inbox: ctx.getInboxUri(USER).href,
    sharedInbox: ctx.getInboxUri().href,
    port: PORT,
    node: process.version,
    fedify: FEDIFY_VERSION,
  }),
  "GET /_control/inbox": () => received,
  "GET /_control/requests": () => requests,
  "GET /_control/errors": () => errors,
  "GET /_control/followers": () => [...followers.keys()],
  "GET /_control/following": () =>
    [...following.values()].map(({ target, followId, accepted, rejected }) => ({ target, id: followId, accepted, rejected })),
  "POST /_control/clear": () => {
    received.length = 0;
    requests.length = 0;
    errors.length = 0;
    return { ok: true };
  },

  "POST /_control/follow": async (ctx, body) => {
    const actor = await lookupActor(ctx, need(body, "target"));
    const follow = new Follow({
      id: newActivityId(ctx),
      actor: ctx.getActorUri(USER),
      object: actor.id,
      to: actor.id,
    });
    // Registered before sending: the Accept may arrive while the Follow is being posted.
    following.set(actor.id.href, {
      target: actor.id.href, followId: follow.id.href, accepted: false, rejected: false, actor,
    });
    try {
      await send(ctx, [actor], follow);
    } catch (error) {
      following.delete(actor.id.href);
      throw error;
    }
    return { id: follow.id.href };
  },

  "POST /_control/unfollow": async (ctx, body) => {
    const target = need(body, "target");
    const f = following.get(target) ?? [...following.values()].find((x) => x.target === target);
    if (!f) throw new HttpError(404, `we do not follow ${target}`);
    const followActivity = sent.get(f.followId)?.activity;
    const undo = new Undo({
      id: newActivityId(ctx),
      actor: ctx.getActorUri(USER),
      object: followActivity ?? new URL(f.followId),
      to: f.actor.id,
    });
    await send(ctx, [f.actor], undo);
    following.delete(f.target);
    return { id: undo.id.href };
  },

  // Mastodon's relay subscription: the instance actor sends a Follow of the Public collection
  // to the relay's inbox. The relay's Accept is recorded like any other.
  "POST /_control/relay-subscribe": async (ctx, body) => {
    const relay = new URL(need(body, "relay"));
    const inbox = new URL(need(body, "inbox"));
    const follow = new Follow({
      id: newActivityId(ctx),
      actor: ctx.getActorUri(APP),
      object: PUBLIC_COLLECTION,
      to: relay,
    });
    following.set(relay.href, {
      target: relay.href, followId: follow.id.href, accepted: false, rejected: false,
      actor: { id: relay, inboxId: inbox },
    });
    const json = await follow.toJsonLd({ format: "compact", contextLoader: ctx.contextLoader });
    sent.set(follow.id.href, { activity: follow, json, recipients: [relay.href] });
    await ctx.sendActivity({ identifier: APP }, { id: relay, inboxId: inbox }, follow);
    return { id: follow.id.href };
  },

  // A public post of alice, sent to her followers and to a relay's inbox (as Mastodon does).
  "POST /_control/relay-post": async (ctx, body) => {
    const inbox = new URL(need(body, "inbox"));
    const uuid = randomUUID();
    const noteId = ctx.getObjectUri(Note, { identifier: USER, id: uuid });
    const published = now();
    const note = new Note({
      id: noteId, attribution: ctx.getActorUri(USER), content: need(body, "content"), published,
      url: noteId, to: PUBLIC_COLLECTION, cc: ctx.getFollowersUri(USER),
    });
    notes.set(uuid, { note, recipients: "followers", deleted: false });
    const create = new Create({
      id: newActivityId(ctx), actor: ctx.getActorUri(USER), object: note, published,
      to: PUBLIC_COLLECTION, cc: ctx.getFollowersUri(USER),
    });
    const json = await create.toJsonLd({ format: "compact", contextLoader: ctx.contextLoader });
    sent.set(create.id.href, { activity: create, json, recipients: [inbox.href] });
    await ctx.sendActivity({ identifier: USER }, { id: new URL(body.relay ?? inbox.href), inboxId: inbox }, create);
    return { id: noteId.href, activity: create.id.href };
  },

  "POST /_control/post": async (ctx, body) => {
    const content = need(body, "content");
    const uuid = randomUUID();
    const noteId = ctx.getObjectUri(Note, { identifier: USER, id: uuid });
    const published = now();
    const note = new Note({
      id: noteId,
      attribution: ctx.getActorUri(USER),
      content,
      published,
      url: noteId,
      to: PUBLIC_COLLECTION,
      cc: ctx.getFollowersUri(USER),
    });
    notes.set(uuid, { note, recipients: "followers", deleted: false });
    const create = new Create({
      id: newActivityId(ctx),
      actor: ctx.getActorUri(USER),
      object: note,
      published,
      to: PUBLIC_COLLECTION,
      cc: ctx.getFollowersUri(USER),
    });
    await send(ctx, "followers", create);
    return { id: noteId.href, activity: create.id.href };
  },

  "POST /_control/reply": async (ctx, body) => {
    const inReplyTo = need(body, "inReplyTo");
    const content = need(body, "content");
    const actor = await lookupActor(ctx, need(body, "to"));
    const uuid = randomUUID();
    const noteId = ctx.getObjectUri(Note, { identifier: USER, id: uuid });
    const published = now();
    const handle = actor.preferredUsername ? `@${actor.preferredUsername}@${actor.id.host}` : null;
    // followersOnly: Mastodon's addressing of a reply to a followers-only post (to the replier's
    // followers, cc the mentioned actor, no Public anywhere).
    const to = body.followersOnly ? ctx.getFollowersUri(USER) : PUBLIC_COLLECTION;
    const note = new Note({
      id: noteId,
      attribution: ctx.getActorUri(USER),
      content,
      published,
      url: noteId,
      replyTarget: new URL(inReplyTo),
      to,
      cc: actor.id,
      tags: [new Mention({ href: actor.id, name: handle })],
    });
    notes.set(uuid, { note, recipients: [actor], deleted: false });
    const create = new Create({
      id: newActivityId(ctx),
      actor: ctx.getActorUri(USER),
      object: note,
      published,
      to,
      cc: actor.id,
    });
    await send(ctx, [actor], create);
    return { id: noteId.href, activity: create.id.href };
  },

  // A GET of `url` signed with alice's key (as a member's server fetches a private post for
  // her), or unsigned with `unsigned: true`; answers the status and the body received.
  "POST /_control/fetch": async (ctx, body) => {
    let request = new Request(need(body, "url"), { headers: { Accept: "application/activity+json" } });
    if (!body.unsigned) {
      const [pair] = await ctx.getActorKeyPairs(USER);
      request = await signRequest(request, pair.privateKey, pair.keyId);
    }
    const response = await fetch(request, { redirect: "manual" });
    return { status: response.status, body: await response.text() };
  },

  "POST /_control/update": async (ctx, body) => {
    const entry = findNote(need(body, "id"));
    if (entry.deleted) throw new HttpError(410, "that note was deleted");
    const content = need(body, "content");
    entry.note = entry.note.clone({ content, updated: now() });
    const update = new Update({
      id: newActivityId(ctx),
      actor: ctx.getActorUri(USER),
      object: entry.note,
      published: entry.note.updated,
      tos: entry.note.toIds,
      ccs: entry.note.ccIds,
    });
    await send(ctx, entry.recipients, update);
    return { id: entry.note.id.href, activity: update.id.href };
  },

  "POST /_control/delete": async (ctx, body) => {
    const entry = findNote(need(body, "id"));
    entry.deleted = true;
    const deleted = now();
    const del = new Delete({
      id: newActivityId(ctx),
      actor: ctx.getActorUri(USER),
      object: new Tombstone({ id: entry.note.id, deleted }),
      published: deleted,
      tos: entry.note.toIds,
      ccs: entry.note.ccIds,
    });
    await send(ctx, entry.recipients, del);
    return { id: entry.note.id.href, activity: del.id.href };
  },

  "POST /_control/like": async (ctx, body) => {
    const object = new URL(need(body, "object"));
    const actor = await lookupActor(ctx, need(body, "to"));
    const like = new Like({
      id: newActivityId(ctx),
      actor: ctx.getActorUri(USER),
      object,
      to: actor.id,
    });
    await send(ctx, [actor], like);
    return { id: like.id.href };
  },

  "POST /_control/announce": async (ctx, body) => {
    const object = new URL(need(body, "object"));
    const actor = await lookupActor(ctx, need(body, "to"));
    const announce = new Announce({
      id: newActivityId(ctx),
      actor: ctx.getActorUri(USER),
      object,
      published: now(),
      to: PUBLIC_COLLECTION,
      ccs: [actor.id, ctx.getFollowersUri(USER)],
    });
    await send(ctx, [actor], announce);
    return { id: announce.id.href };
  },

  "POST /_control/undo": async (ctx, body) => {
    const id = need(body, "id");
    const entry = sent.get(id);
    if (!entry) throw new HttpError(404, `no activity of ours with id ${id}`);
    const undo = new Undo({
      id: newActivityId(ctx),
      actor: ctx.getActorUri(USER),
      object: entry.activity,
      tos: entry.activity.toIds,
      ccs: entry.activity.ccIds,
    });
    await send(ctx, entry.recipients, undo);
    if (entry.activity instanceof Follow) {
      for (const [key, f] of following) if (f.followId === id) following.delete(key);
    }
    return { id: undo.id.href };
  },
};

// ---------------------------------------------------------------- HTTP layer

function json(res, status, value) {
  const body = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(body);
}

async function handle(req, res) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const body = Buffer.concat(chunks);
  const url = new URL(req.url, `http://${req.headers.host ?? `${opts.host}:${PORT}`}`);
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  const request = new Request(url, { method: req.method, headers, body: hasBody ? body : undefined });

  if (url.pathname.startsWith("/_control/")) {
    const action = control[`${req.method} ${url.pathname}`];
    if (!action) return json(res, 404, { error: `no control route ${req.method} ${url.pathname}` });
    let input = {};
    if (hasBody && body.length > 0) {
      try {
        input = JSON.parse(body.toString("utf8"));
      } catch {
        return json(res, 400, { error: "the body is not JSON" });
      }
      if (typeof input !== "object" || input == null || Array.isArray(input)) {
        return json(res, 400, { error: "the body must be a JSON object" });
      }
    }
    try {
      const ctx = federation.createContext(request, undefined);
      return json(res, 200, await action(ctx, input));
    } catch (error) {
      const status = error instanceof HttpError ? error.status : 502;
      log.error("control {method} {path} failed: {error}", { method: req.method, path: url.pathname, error });
      return json(res, status, { error: String(error?.message ?? error), detail: String(error?.stack ?? error) });
    }
  }

  const logEntry = {
    method: req.method,
    path: url.pathname + url.search,
    headers: Object.fromEntries(headers),
    body: hasBody ? body.toString("utf8").slice(0, 65536) : null,
    status: null,
    at: new Date().toISOString(),
  };
  requests.push(logEntry);

  let response = serveOwnActivity(req.method, url) ?? serveDeletedNote(req.method, url);
  if (response == null) {
    response = await currentBody.run(hasBody ? body : null, () => federation.fetch(request, {
      contextData: undefined,
      onNotFound: () => new Response("Not found\n", { status: 404, headers: { "content-type": "text/plain" } }),
      onNotAcceptable: () =>
        new Response("Not acceptable: ask for application/activity+json\n", {
          status: 406,
          headers: { "content-type": "text/plain", vary: "Accept" },
        }),
    }));
  }
  logEntry.status = response.status;
  const out = Buffer.from(await response.arrayBuffer());
  const outHeaders = [];
  for (const [k, v] of response.headers) outHeaders.push(k, v);
  res.writeHead(response.status, outHeaders);
  res.end(req.method === "HEAD" ? undefined : out);
  if (response.status >= 400 && url.pathname.endsWith("inbox")) {
    log.warn("{method} {path} answered {status}: {body}", {
      method: req.method, path: logEntry.path, status: response.status, body: out.toString("utf8").slice(0, 500),
    });
  }
}

const AP_HEADERS = { "content-type": "application/activity+json", vary: "Accept" };

function serveOwnActivity(method, url) {
  if (method !== "GET" && method !== "HEAD") return null;
  const entry = sent.get(new URL(url.pathname, ORIGIN).href);
  if (!entry) return null;
  return new Response(JSON.stringify(entry.json), { status: 200, headers: AP_HEADERS });
}

function serveDeletedNote(method, url) {
  if (method !== "GET" && method !== "HEAD") return null;
  const m = url.pathname.match(/^\/users\/([^/]+)\/notes\/([^/]+)$/);
  if (!m || m[1] !== USER) return null;
  const entry = notes.get(m[2]);
  if (!entry || !entry.deleted) return null;
  const tombstone = {
    "@context": "https://www.w3.org/ns/activitystreams",
    id: entry.note.id.href,
    type: "Tombstone",
  };
  return new Response(JSON.stringify(tombstone), { status: 410, headers: AP_HEADERS });
}

// ---------------------------------------------------------------- start, stop

let stopping = false;
function shutdown(why) {
  if (stopping) return;
  stopping = true;
  log.info("stopping ({why})", { why });
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
if (opts.exitOnStdinClose) {
  process.stdin.on("end", () => shutdown("stdin closed"));
  process.stdin.on("error", () => shutdown("stdin error"));
  process.stdin.resume();
}

const ctx0 = federation.createContext(new URL(ORIGIN), undefined);
process.stdout.write(`LISTENING ${PORT} ${ctx0.getActorUri(USER).href}\n`);
log.info("Fedify {fedify} peer on {origin} (Node {node})", {
  fedify: FEDIFY_VERSION, origin: ORIGIN, node: process.version,
});

// The engine's decisions as pure functions, exercised by ping-pong loops with no engine,
// no network and no timers: which peers an envelope is pushed to (forwarding.ts), and
// when a reconciliation session opens (reconciler.ts, catchup.ts).
import t from 'tap'
import { pushMode, roundTripWaitMs, shouldPush, siblingGoesFirst, type SourceView } from '../protocol/engine/forwarding.ts'
import { filesMoving, initiates, sessionDue, sessionIdleIntervals } from '../protocol/engine/reconciler.ts'
import { catchUpWaits } from '../protocol/engine/catchup.ts'
import { accept, initiate, reconcile, ReconcileSet, type ReconcileSession } from '../protocol/reconcile/index.ts'
import { catchUpIdsAheadMax, reconcileWaitsForIdsMin } from '../protocol/limits.ts'

/** An undirected graph: node → neighbour → one-hop cost, ms. */
type Graph = Map<string, Map<string, number>>

function graph (edges: Array<[string, string, number]>): Graph {
  const g: Graph = new Map()
  for (const [a, b, cost] of edges) {
    if (!g.has(a)) g.set(a, new Map())
    if (!g.has(b)) g.set(b, new Map())
    g.get(a)!.set(b, cost)
    g.get(b)!.set(a, cost)
  }
  return g
}

/**
 * Floods one envelope from `origin`, hop by hop in arrival order: each node, the first
 * time it receives the envelope from S, pushes it to each neighbour Q ≠ S that
 * `shouldPush` picks, judging S by the neighbour list S advertised (node ids stand in
 * for ref keys). With `siblings`, a node also leaves Q to a sibling that goes first
 * (`siblingGoesFirst`: it would announce to Q, and Q's copy comes from that sibling).
 * Returns who received it and how many copies arrived where one was held.
 */
function flood (g: Graph, origin: string, siblings = false): { reached: Set<string>, duplicates: number } {
  const reached = new Set([origin])
  let duplicates = 0
  const inFlight: Array<{ to: string, from: string, atMs: number }> = []
  const pushFrom = (node: string, from: string | undefined, atMs: number): void => {
    const mine = g.get(node)!
    const source: SourceView | undefined = from === undefined ? undefined : { costMs: mine.get(from)!, neighbours: g.get(from)! }
    for (const [q, costMs] of mine) {
      if (q === from) continue
      if (source !== undefined && !shouldPush(source, { refKey: q, costMs }, node)) continue
      if (siblings && source !== undefined && [...mine.keys()].some(c => c !== q && c !== from &&
        siblingGoesFirst(source, { id: c, refKey: c, neighbours: g.get(c)! }, { refKey: q, costMs }, node, node))) continue
      inFlight.push({ to: q, from: node, atMs: atMs + costMs })
    }
  }
  pushFrom(origin, undefined, 0)
  while (inFlight.length > 0) {
    inFlight.sort((x, y) => x.atMs - y.atMs || x.to.localeCompare(y.to))
    const { to, from, atMs } = inFlight.shift()!
    if (reached.has(to)) { duplicates++; continue }
    reached.add(to)
    pushFrom(to, from, atMs)
  }
  return { reached, duplicates }
}

t.test('forwarding: a sender\'s own neighbours are left to it; a clearly faster path through us is taken', async t => {
  const triangle = graph([['a', 'b', 1], ['b', 'c', 1], ['a', 'c', 1]])
  t.same(flood(triangle, 'a'), { reached: new Set(['a', 'b', 'c']), duplicates: 0 }, 'a triangle: no copy crosses b–c')

  // s–d is a 600 ms satellite hop; s–r and r–d 1 ms LAN hops: r pushes on to d though s reaches d itself.
  const valley = graph([['s', 'd', 600], ['s', 'r', 1], ['r', 'd', 1]])
  t.ok(shouldPush({ costMs: 1, neighbours: valley.get('s')! }, { refKey: 'd', costMs: 1 }, 'r'), 'r pushes to d')
  t.same(flood(valley, 's').duplicates, 1, 'd gets the fast copy first; the satellite copy arrives second')

  // Through us must beat the direct link by the shortcut factor: 1 + 1 ms against 2 ms is not enough.
  t.notOk(shouldPush({ costMs: 1, neighbours: new Map([['d', 2], ['r', 1]]) }, { refKey: 'd', costMs: 1 }, 'r'))
})

t.test('forwarding: with current neighbour lists every node of a connected mesh is reached', async t => {
  let seed = 7
  const random = (): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31 }
  for (let round = 0; round < 50; round++) {
    const n = 3 + Math.floor(random() * 12)
    const ids = Array.from({ length: n }, (_, i) => `n${i}`)
    const edges: Array<[string, string, number]> = []
    for (let i = 1; i < n; i++) edges.push([ids[i], ids[Math.floor(random() * i)], 1 + Math.floor(random() * 600)]) // a spanning tree
    for (let k = 0; k < n; k++) {
      const [x, y] = [ids[Math.floor(random() * n)], ids[Math.floor(random() * n)]]
      if (x !== y && !edges.some(([p, q]) => (p === x && q === y) || (p === y && q === x))) edges.push([x, y, 1 + Math.floor(random() * 600)])
    }
    const g = graph(edges)
    const origin = ids[Math.floor(random() * n)]
    const { reached } = flood(g, origin)
    if (reached.size !== n) { t.fail(`round ${round}: ${reached.size} of ${n} reached from ${origin}`); return }
    const withSiblings = flood(g, origin, true)
    if (withSiblings.reached.size !== n) { t.fail(`round ${round}: siblings: ${withSiblings.reached.size} of ${n} reached from ${origin}`); return }
  }
  t.pass('50 random meshes, every node reached, also when siblings leave a common neighbour to the one that goes first')
})

t.test('forwarding: of the siblings that reach a node, only the one that goes first pushes to it (#24)', async t => {
  // s pushes to b and c; b and c both reach d, which s does not: their copies to d would cross.
  const kite = graph([['s', 'b', 1], ['s', 'c', 1], ['b', 'c', 1], ['b', 'd', 1], ['c', 'd', 1]])
  t.same(flood(kite, 's'), { reached: new Set(['s', 'b', 'c', 'd']), duplicates: 1 }, 'without: one copy to d crosses the other')
  t.same(flood(kite, 's', true), { reached: new Set(['s', 'b', 'c', 'd']), duplicates: 0 }, 'with: b pushes to d, c announces')
  const source = { costMs: 1, neighbours: kite.get('s')! }
  const sibling = (id: string): { id: string, refKey: string, neighbours: Map<string, number> } => ({ id, refKey: id, neighbours: kite.get(id)! })
  t.ok(siblingGoesFirst(source, sibling('b'), { refKey: 'd', costMs: 1 }, 'c', 'c'), 'an equal path: the smaller id goes first')
  t.notOk(siblingGoesFirst(source, sibling('c'), { refKey: 'd', costMs: 1 }, 'b', 'b'))
  // c's link to d is 1 ms and b's is 40 ms: c's path is cheaper, so c goes first though its id is larger.
  const uneven = graph([['s', 'b', 1], ['s', 'c', 1], ['b', 'c', 1], ['b', 'd', 40], ['c', 'd', 1]])
  const unevenSource = { costMs: 1, neighbours: uneven.get('s')! }
  t.ok(siblingGoesFirst(unevenSource, { id: 'c', refKey: 'c', neighbours: uneven.get('c')! }, { refKey: 'd', costMs: 40 }, 'b', 'b'))
  t.notOk(siblingGoesFirst(unevenSource, { id: 'b', refKey: 'b', neighbours: uneven.get('b')! }, { refKey: 'd', costMs: 1 }, 'c', 'c'))
  // A neighbour the source did not advertise is no sibling: nothing says it is getting the envelope now.
  t.notOk(siblingGoesFirst({ costMs: 1, neighbours: new Map([['c', 1]]) }, sibling('b'), { refKey: 'd', costMs: 1 }, 'c', 'c'))
})

t.test('forwarding: how a copy goes to a peer', async t => {
  t.equal(pushMode(true, false, 'a', 'b'), 'announce', 'a lazy author is announced')
  t.equal(pushMode(true, true, 'b', 'a'), 'announce')
  t.equal(pushMode(false, false, 'b', 'a'), 'push')
  t.equal(pushMode(false, true, 'a', 'b'), 'push', 'a repair: the smaller id pushes at once')
  t.equal(pushMode(false, true, 'b', 'a'), 'push-after-round-trip', 'the larger waits a round trip, so the copies do not cross')
  t.equal(roundTripWaitMs(40), 90, 'a round trip of a 40 ms link, and 10 ms for the peer\'s have to queue')
})

t.test('reconciliation: exactly one side of every link opens the sessions', async t => {
  const ids = ['a', 'b', 'relay-1', 'relay-10', 'relay-2', 'z']
  for (const x of ids) for (const y of ids) if (x !== y) t.equal(initiates(x, y), !initiates(y, x), `${x}–${y}`)
})

t.test('reconciliation ping-pong: sessions open when due, an unanswered one is replaced after the idle intervals', async t => {
  const intervalMs = 30_000
  const a = new ReconcileSet()
  const b = new ReconcileSet()
  const key = (i: number): Uint8Array => { const id = new Uint8Array(32); id[0] = i >> 8; id[1] = i & 255; id[31] = 9; return id }
  for (let i = 0; i < 500; i++) { a.add(key(i)); b.add(key(i)) }
  for (let i = 500; i < 520; i++) a.add(key(i))
  for (let i = 520; i < 530; i++) b.add(key(i))
  let open: ReconcileSession | undefined
  let lastHeardMs = -Infinity
  let bListens = true
  const learned = { have: 0, need: 0 }
  const opened: number[] = []
  const replaced: number[] = []
  for (let nowMs = 0; nowMs <= 10 * intervalMs; nowMs += intervalMs) { // the periodic pass, as a loop: no timers
    const due = sessionDue(open !== undefined, nowMs - lastHeardMs, intervalMs)
    if (due === 'wait') continue
    if (due === 'replace') replaced.push(nowMs)
    const started = initiate(a, { frameBytesMax: 2048 })
    open = started.session
    lastHeardMs = nowMs
    opened.push(nowMs)
    if (!bListens) continue // b dropped its side: a's session waits with no answer
    const responder = accept(b, { frameBytesMax: 2048 })
    let msg: Uint8Array | null = started.message
    const pushed: Uint8Array[] = []
    const brought: Uint8Array[] = []
    for (let toResponder = true; msg !== null; toResponder = !toResponder) {
      const step = reconcile(toResponder ? responder : started.session, msg)
      if (!toResponder) {
        lastHeardMs = nowMs
        learned.have += step.have.length
        learned.need += step.need.length
        pushed.push(...step.have)
        brought.push(...step.need)
        if (step.done) open = undefined
      }
      msg = step.reply
    }
    for (const id of pushed) b.add(id) // the pushes each side owed the other arrived
    for (const id of brought) a.add(id)
    bListens = opened.length < 2
  }
  t.same(learned, { have: 20, need: 10 }, 'the first session found the whole difference; the second, none')
  t.same(opened.slice(0, 4), [0, intervalMs, 2 * intervalMs, (2 + sessionIdleIntervals) * intervalMs], 'opened at each pass while answered; once b went silent, only after the idle intervals')
  t.same(replaced[0], (2 + sessionIdleIntervals) * intervalMs, 'the unanswered session was replaced')
})

t.test('catch-up: a new pass waits while enough of the last one still moves', async t => {
  t.notOk(catchUpWaits(reconcileWaitsForIdsMin, false), 'a periodic pass goes ahead at the threshold')
  t.ok(catchUpWaits(reconcileWaitsForIdsMin + 1, false), 'and waits past it')
  t.notOk(catchUpWaits(catchUpIdsAheadMax, true), 'the next range of a pass goes ahead at its own threshold')
  t.ok(catchUpWaits(catchUpIdsAheadMax + 1, true))
})

t.test('no reconciliation while a file moves on the link, either way; at once when it has passed (#23)', async t => {
  const intervalMs = 30_000
  t.equal(filesMoving(0, Infinity, intervalMs), false, 'nothing moving: reconcile')
  t.equal(filesMoving(1, Infinity, intervalMs), true, 'our queue to the peer holds a file\'s pieces')
  t.equal(filesMoving(0, intervalMs - 1, intervalMs), true, 'a piece came from the peer within the interval')
  t.equal(filesMoving(0, intervalMs, intervalMs), false, 'the last piece is an interval old: the file has passed')
  // Ping-pong over a transfer: pieces arrive every 2 s for 10 minutes, then stop; the periodic pass runs every interval.
  const sessions: number[] = []
  for (let nowMs = 0; nowMs <= 20 * 60_000; nowMs += intervalMs) {
    const lastPieceMs = Math.min(nowMs, 10 * 60_000)
    if (!filesMoving(0, nowMs - lastPieceMs, intervalMs)) sessions.push(nowMs)
  }
  t.same(sessions[0], 10 * 60_000 + intervalMs, 'the first session comes one interval after the last piece')
})

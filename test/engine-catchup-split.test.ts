// Two relays far behind each other, both ways at once: 100,000 differences over one link on
// TestNet (issue: a relay 100,000 behind held 106 of them after 99 s). The whole set splits
// (its estimate is over 65,536) and key ranges follow, each streaming while the next is
// reconciled, paced by the link: each envelope crosses once. Key-range order is not sequence
// order, so gaps open all the time; they are left to the transfer rather than chased.
// DDIL_CATCHUP_EACH sets the envelopes each way (default 50,000; the 100,000 each way
// passes too, in about twice the time); `npm run bench -- catchup` measures 100,000 and
// 1,000,000 behind. Its own file: it moves 100,000 envelopes (most of a minute of CPU).
import t from 'tap'
import { crossOver } from './helpers/catchup.ts'

const each = Number(process.env.DDIL_CATCHUP_EACH ?? 50_000)

t.test(`${2 * each} differences (${each} each way) converge over one link, range by range, each envelope once`, async t => {
  await crossOver(t, each, {}, { sessionsMax: 8, ratioMax: 2.5 })
})

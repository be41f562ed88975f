// Starling dashboard: polls the JSON API and draws three ECharts charts. Tweet-derived text
// (hashtags, words) is untrusted: charts draw it on a canvas, and every HTML tooltip escapes it.
import * as echarts from 'echarts';
import 'echarts-wordcloud';

const REFRESH_MS = 2000;
const MINUTES = 60;

function escapeHTML(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

async function getJSON(path) {
  const res = await fetch(path, { headers: { Accept: 'application/json' } });
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return res.json();
}

// sentimentColor maps a compound score in [-1, 1] to red, grey or green.
function sentimentColor(s) {
  const t = Math.max(-1, Math.min(1, s || 0));
  const grey = [139, 152, 165];
  const end = t >= 0 ? [63, 185, 80] : [248, 81, 73];
  const k = Math.min(1, Math.abs(t) * 2);
  const c = grey.map((g, i) => Math.round(g + (end[i] - g) * k));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

const charts = {};
function chart(id) {
  if (!charts[id]) charts[id] = echarts.init(document.getElementById(id), 'dark', { renderer: 'canvas' });
  return charts[id];
}
window.addEventListener('resize', () => Object.values(charts).forEach((c) => c.resize()));

function setState(id, n) {
  document.getElementById(id).dataset.state = n > 0 ? 'ready' : 'empty';
  document.getElementById(id).dataset.points = String(n);
}

function fmtTime(iso) {
  const d = new Date(iso);
  return d.toISOString().slice(11, 16);
}

function renderSummary(s) {
  document.getElementById('kpi-total').textContent = s.tweets.toLocaleString('en');
  document.getElementById('kpi-window').textContent = s.window_tweets.toLocaleString('en');
  document.getElementById('kpi-sentiment').textContent = s.window_tweets ? s.avg_sentiment.toFixed(3) : '–';
  document.getElementById('kpi-hashtags').textContent = s.active_hashtags.toLocaleString('en');
}

function renderVolume(v) {
  const n = v.series.length ? v.series[0].points.length : 0;
  const from = new Date(v.window.from).getTime();
  const labels = Array.from({ length: n }, (_, i) => fmtTime(new Date(from + i * 60000).toISOString()));
  chart('chart-volume').setOption({
    backgroundColor: 'transparent',
    tooltip: {
      trigger: 'axis',
      formatter: (items) => `${escapeHTML(items[0].axisValue)} UTC<br>` +
        items.map((it) => `${it.marker}#${escapeHTML(it.seriesName)}: ${it.value}`).join('<br>'),
    },
    legend: { top: 0, textStyle: { color: '#e6edf3' }, formatter: (name) => `#${name}` },
    grid: { left: 40, right: 16, top: 36, bottom: 28 },
    xAxis: { type: 'category', data: labels, boundaryGap: false },
    yAxis: { type: 'value', minInterval: 1 },
    series: v.series.map((s) => ({ name: s.hashtag, type: 'line', smooth: true, showSymbol: false, data: s.points })),
  }, { notMerge: true });
  setState('chart-volume', v.series.reduce((a, s) => a + s.points.reduce((x, y) => x + y, 0), 0));
}

function renderTop(items) {
  const rows = items.slice().reverse();
  chart('chart-top').setOption({
    backgroundColor: 'transparent',
    tooltip: {
      trigger: 'item',
      formatter: (p) => `#${escapeHTML(p.name)}<br>${p.value} tweets<br>sentiment ${rows[p.dataIndex].sentiment.toFixed(3)}`,
    },
    grid: { left: 110, right: 24, top: 8, bottom: 24 },
    xAxis: { type: 'value', minInterval: 1 },
    yAxis: { type: 'category', data: rows.map((r) => r.term), axisLabel: { formatter: (t) => `#${t}` } },
    series: [{ type: 'bar', data: rows.map((r) => ({ value: r.tweets, itemStyle: { color: sentimentColor(r.sentiment) } })) }],
  }, { notMerge: true });
  setState('chart-top', items.length);
}

function renderCloud(items) {
  chart('chart-cloud').setOption({
    backgroundColor: 'transparent',
    tooltip: { formatter: (p) => `${escapeHTML(p.name)}: ${p.value}` },
    series: [{
      type: 'wordCloud', shape: 'circle', left: 'center', top: 'center', width: '95%', height: '95%',
      sizeRange: [12, 56], rotationRange: [0, 0], gridSize: 6, drawOutOfBound: false,
      textStyle: { fontFamily: 'system-ui, sans-serif', fontWeight: 600, color: (p) => sentimentColor(items[p.dataIndex].sentiment) },
      data: items.map((w) => ({ name: w.term, value: w.tweets })),
    }],
  }, { notMerge: true });
  setState('chart-cloud', items.length);
}

let lastWindow = '';
async function refresh() {
  const status = document.getElementById('status');
  try {
    const [summary, volume, top, words] = await Promise.all([
      getJSON(`api/summary?minutes=${MINUTES}`),
      getJSON(`api/hashtags/volume?minutes=${MINUTES}&top=5`),
      getJSON(`api/hashtags/top?minutes=${MINUTES}&limit=15`),
      getJSON(`api/words/top?minutes=${MINUTES}&limit=80`),
    ]);
    renderSummary(summary);
    renderVolume(volume);
    renderTop(top.items);
    // The word cloud re-lays out on every update; redraw it only when the data moved on.
    const key = JSON.stringify(words.items.slice(0, 20));
    if (key !== lastWindow) { renderCloud(words.items); lastWindow = key; }
    document.getElementById('window').textContent = summary.tweets
      ? `last ${MINUTES} minutes of data, ${fmtTime(volume.window.from)}–${fmtTime(volume.window.to)} UTC`
      : 'waiting for data…';
    status.textContent = `updated ${new Date().toLocaleTimeString('en-GB')}`;
  } catch (err) {
    status.textContent = `update failed: ${err.message}`;
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}

refresh();

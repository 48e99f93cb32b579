// A Plotly chart kept across reruns: Streamlit calls this function again with the new figure, and
// Plotly.react (or, when only the layout changed, Plotly.relayout) updates the same plot
// (st.plotly_chart would unmount it and draw it from scratch).
// plotly.js is loaded once per tab, from the URL the server gives (the plotly package's own file).
export default function ({ data, parentElement, setTriggerValue }) {
  const root = parentElement.querySelector(".netlens-chart");
  const state = root.__netlens || (root.__netlens = setUp(root));
  const button = root.querySelector(".fullscreen");
  state.labels = data.labels;
  button.title = button.ariaLabel = document.fullscreenElement === root ? data.labels.close : data.labels.open;
  const message = received(data);
  if (message === null) {  // a message built on traces this tab does not hold: the server sends them all
    setTriggerValue("missing", data.version);
    return;
  }
  if (state.figure === message.figure) return;
  state.figure = message.figure;
  state.data = message.data;
  state.config = data.config;
  root.dataset.drawing = "true";  // until plotly.js has drawn this figure (a clock can wait for it)
  plotly(data.plotly).then(Plotly => draw(Plotly, root, state));
}

// The message's figure JSON (`figure`) and its traces' (`data`), its unchanged traces (null) being
// the ones the tab holds for this chart's key from the message numbered `base`; null if the tab does
// not hold those. Kept per tab, not per element: a page left and opened again mounts its charts anew.
function received(data) {
  const held = window.__netlensCharts || (window.__netlensCharts = {});
  const before = held[data.key];
  if (before && before.version === data.version) return before;  // the same message again
  const partial = data.traces.some(trace => trace === null);
  if (partial && (!before || before.version !== data.base)) return null;
  const traces = data.traces.map((trace, i) => (trace === null ? before.traces[i] : trace));
  const frames = data.frames ? `,"frames":${data.frames}` : "";
  const joined = traces.join(",");
  const message = { version: data.version, traces, data: joined,
                    figure: `{"data":[${joined}],"layout":${data.layout}${frames}}` };
  held[data.key] = message;
  return message;
}

function plotly(url) {
  if (!window.__netlensPlotly) {
    window.__netlensPlotly = new Promise((resolve, reject) => {
      if (window.Plotly) return resolve(window.Plotly);
      const script = document.createElement("script");
      script.src = url;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => { window.__netlensPlotly = null; reject(new Error(`plotly.js not loaded from ${url}`)); };
      document.head.appendChild(script);
    });
  }
  return window.__netlensPlotly;
}

function setUp(root) {
  const state = { figure: null, drawn: null, height: 450 };
  const plot = root.querySelector(".plot");
  let queued = false;
  // The container's size changes (sidebar, window, fullscreen, a tab shown): Plotly follows it, and
  // a figure that came while the chart was hidden is drawn now.
  new ResizeObserver(() => {
    if (queued || !window.Plotly) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      if (!shown(root)) return;
      if (state.figure !== state.drawn) draw(window.Plotly, root, state);
      else if (state.drawn) window.Plotly.Plots.resize(plot);
    });
  }).observe(root);
  root.querySelector(".fullscreen").addEventListener("click", () => {
    if (document.fullscreenElement === root) document.exitFullscreen();
    else root.requestFullscreen();
  });
  root.addEventListener("fullscreenchange", () => {
    const full = document.fullscreenElement === root;
    const button = root.querySelector(".fullscreen");
    button.title = button.ariaLabel = full ? state.labels.close : state.labels.open;
    // The whole screen while fullscreen; back to the container's width and the figure's height after.
    if (window.Plotly && state.drawn) {
      window.Plotly.relayout(plot, full ? { width: window.innerWidth, height: window.innerHeight }
        : { width: null, height: state.height });
    }
  });
  return state;
}

// False inside a hidden container (display: none, as Streamlit's tabs that are not chosen).
const shown = el => el.getClientRects().length > 0;

function draw(Plotly, root, state) {
  const figure = state.figure;
  if (figure === state.drawn) return;
  if (!shown(root)) {  // hidden (a tab not shown): drawn when it is shown, at its real width
    delete root.dataset.drawing;
    return;
  }
  const { data, layout = {}, frames } = JSON.parse(figure);
  const plot = root.querySelector(".plot");
  const update = layoutUpdate(state, layout, frames);
  state.height = layout.height || 450;
  state.drawn = figure;
  const done = () => { if (state.drawn === state.figure) delete root.dataset.drawing; };
  if (update) return Plotly.relayout(plot, update).then(done);
  if (document.fullscreenElement === root) layout.height = window.innerHeight;
  layout.autosize = true;
  delete layout.width;
  // Plotly.react keeps the plot's div (and whatever the page put on it) and redraws what changed.
  return Plotly.react(plot, { data, layout, frames, config: state.config }).then(done);
}

// When only the layout changed (the Recurrent page's timestep moves an outline over eleven heatmaps),
// the layout's changed keys, for Plotly.relayout: Plotly.react would draw the whole plot again (50-70 ms
// for those heatmaps; relayout of a shape takes 1-5 ms). Null when a trace changed, or on a first draw.
// The traces are compared as the server wrote them (`state.data`), not parsed and written again.
function layoutUpdate(state, layout, frames) {
  const traces = state.data;
  const keys = Object.fromEntries(Object.entries(layout).map(([key, value]) => [key, JSON.stringify(value)]));
  const before = state.keys;
  const same = state.drawnData === traces && !frames && before;
  state.drawnData = traces;
  state.keys = keys;
  if (!same) return null;
  const update = {};
  for (const key in keys) if (keys[key] !== before[key]) changes(update, key, JSON.parse(before[key]), layout[key]);
  for (const key in before) if (!(key in keys)) update[key] = null;
  if ("height" in update || "width" in update) return null;  // sizes go through react's autosize
  return update;
}

// Into `update`, the attributes under `path` that differ from `before` to `after`, as Plotly.relayout's
// dotted paths ("yaxis.tickvals"): a whole axis given anew would draw the plot again, its ticks alone
// redraw the ticks. Arrays (shapes, annotations, tick values, typed arrays) go whole.
function changes(update, path, before, after) {
  const plain = value => value !== null && typeof value === "object" && !Array.isArray(value) && !("bdata" in value);
  if (!plain(before) || !plain(after)) {
    update[path] = after === undefined ? null : after;
    return;
  }
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) changes(update, `${path}.${key}`, before[key], after[key]);
  }
}

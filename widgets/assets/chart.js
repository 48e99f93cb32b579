// A Plotly chart kept across reruns: Streamlit calls this function again with the new figure, and
// Plotly.react (or, when only the layout and hover templates changed, Plotly.relayout or Plotly.update)
// updates the same plot (st.plotly_chart would unmount it and draw it from scratch).
// plotly.js is loaded once per tab, from the URL the server gives (the plotly package's own file).
// The element's stylesheet, added to the page once per tab (this module is imported once: widgets/served.py).
const sheet = Object.assign(document.createElement("link"), { rel: "stylesheet", href: new URL("chart.css", import.meta.url).href });
document.head.appendChild(sheet);

export default function ({ data, parentElement, setTriggerValue }) {
  const root = parentElement.querySelector(".netlens-chart");
  const state = root.__netlens || (root.__netlens = setUp(root));
  state.clicks = data.clicks;
  state.setTriggerValue = setTriggerValue;
  const button = root.querySelector(".fullscreen");
  state.labels = data.labels;
  button.title = button.ariaLabel = document.fullscreenElement === root ? data.labels.close : data.labels.open;
  const message = received(data);
  if (message === null) {  // a message built on traces this tab does not hold: the server sends them all
    setTriggerValue("missing", data.version);
    return;
  }
  state.scrub = data.scrub ? { group: data.scrub.group, value: data.scrub.value, frames: message.frames,
                                click: data.scrub.click, clickTraces: data.scrub.clickTraces } : null;
  if (state.scrub) root.dataset.scrubGroup = state.scrub.group;
  else delete root.dataset.scrubGroup;
  if (state.figure === message.figure) return;
  state.figure = message.figure;
  state.traces = message.traces;
  state.config = data.config;
  // The figure's height held before it is drawn, so that the page below keeps its place and a chart
  // far below the fold is seen to be far (`near`).
  root.style.minHeight = `${JSON.parse(message.layout).height || 450}px`;
  root.dataset.drawing = "true";  // until plotly.js has drawn this figure (a clock can wait for it)
  plotly(data.plotly).then(Plotly => draw(Plotly, root, state));
}

// The message's figure JSON (`figure`), its traces' (`traces`) and, for a chart that follows a scrub
// slider, every value's frame (`frames`, widgets/chart.py scrub_frames), its unchanged parts (null) being
// the ones the tab holds for this chart's key from the message numbered `base`; null if the tab does
// not hold those. Kept per tab, not per element: a page left and opened again mounts its charts anew.
function received(data) {
  const held = window.__netlensCharts || (window.__netlensCharts = {});
  const before = held[data.key];
  if (before && before.version === data.version) return before;  // the same message again
  const partial = data.traces.some(trace => trace === null) || data.layout === null
    || (data.scrub && data.scrub.frames === null);
  if (partial && (!before || before.version !== data.base)) return null;
  const traces = data.traces.map((trace, i) => (trace === null ? before.traces[i] : trace));
  const layout = data.layout ?? before.layout;
  const frames = data.frames ? `,"frames":${data.frames}` : "";
  const scrubbed = !data.scrub ? null : data.scrub.frames === null ? before.frames : JSON.parse(data.scrub.frames);
  const message = { version: data.version, traces, layout, frames: scrubbed,
                    figure: `{"data":[${traces.join(",")}],"layout":${layout}${frames}}` };
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
  const follow = event => {
    if (!root.isConnected) window.removeEventListener("netlens-scrub", follow);  // the page was left
    else scrubbed(root, state, event.detail.group);
  };
  window.addEventListener("netlens-scrub", follow);
  let queued = false;
  // The container's size changes (sidebar, window, fullscreen, a tab shown): Plotly follows it, and
  // a figure that came while the chart was hidden is drawn now.
  new ResizeObserver(() => {
    if (queued || !window.Plotly) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      if (!shown(root)) return;
      if (state.figure !== state.drawn || state.scrubbed !== scrubValue(state)) draw(window.Plotly, root, state);
      else if (state.drawn) window.Plotly.Plots.resize(plot);
    });
  }).observe(root);
  root.querySelector(".fullscreen").addEventListener("click", () => {
    if (document.fullscreenElement === root) document.exitFullscreen();
    else root.requestFullscreen();
  });
  // Drawn only near the visible part of the page (plotly.js takes 15-300 ms a chart, and a page holds up
  // to ten): a chart further than MARGIN below or above it is drawn when it comes within MARGIN.
  const scroller = root.closest(SCROLLER);
  new IntersectionObserver(entries => {
    if (entries[entries.length - 1].isIntersecting && root.dataset.offscreen) redraw(root, state);
  }, { root: scroller, rootMargin: `${MARGIN}px 0px` }).observe(root);
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

const SCROLLER = '[data-testid="stMain"]';  // Streamlit scrolls the page's main area, not the window
const MARGIN = 300;  // px above and below the visible part within which a chart is drawn

// True if `root` is within MARGIN of the visible part of its scrolling area, or fullscreen, or
// printed: as the IntersectionObserver in `setUp` sees it.
function near(root) {
  if (document.fullscreenElement === root || printing) return true;
  const scroller = root.closest(SCROLLER);
  const area = scroller ? scroller.getBoundingClientRect() : { top: 0, bottom: window.innerHeight };
  const box = root.getBoundingClientRect();
  return box.bottom >= area.top - MARGIN && box.top <= area.bottom + MARGIN;
}

// A printed page shows every chart: those not drawn yet are drawn before it is laid out for print.
let printing = false;
window.addEventListener("beforeprint", () => {
  printing = true;
  for (const root of document.querySelectorAll(".netlens-chart[data-offscreen]")) redraw(root, root.__netlens);
});
window.addEventListener("afterprint", () => { printing = false; });

function draw(Plotly, root, state) {
  const figure = state.figure;
  if (figure === state.drawn && state.scrubbed === scrubValue(state)) {  // on screen already
    delete root.dataset.drawing;
    return;
  }
  if (!shown(root)) {  // hidden (a tab not shown): drawn when it is shown, at its real width
    delete root.dataset.drawing;
    return;
  }
  if (!near(root)) {  // far from sight: drawn when it comes near (`setUp`'s IntersectionObserver)
    root.dataset.offscreen = "true";
    delete root.dataset.drawing;
    return;
  }
  delete root.dataset.offscreen;
  const picture = JSON.parse(figure);
  const traces = [...state.traces];
  const styles = {};  // trace index -> its restyled attributes' JSON, where a frame restyles them
  const value = scrubValue(state);
  const frame = value === undefined ? undefined : state.scrub.frames[value];
  if (frame) {  // the picture for the thumb's value, which may be ahead of the server's
    for (const [i, trace] of Object.entries(frame.traces)) {
      traces[i] = trace;
      picture.data[i] = JSON.parse(trace);
    }
    for (const [i, attributes] of Object.entries(frame.restyle || {})) {
      styles[i] = JSON.stringify(attributes);
      Object.assign(picture.data[i], attributes);
    }
    for (const [path, v] of Object.entries(frame.relayout)) setPath(picture.layout || (picture.layout = {}), path, v);
  }
  const { data, layout = {}, frames } = picture;
  const plot = root.querySelector(".plot");
  const previous = state.drawnTraces;
  const previousStyles = state.drawnStyles || {};
  const update = layoutUpdate(state, traces, layout, frames);
  state.drawnStyles = styles;
  state.height = layout.height || 450;
  state.drawn = figure;
  state.scrubbed = frame ? value : undefined;
  const done = () => {
    if (!state.bound) {  // plotly.js has made the div a plot: it can take a click handler now
      state.bound = true;
      plot.on("plotly_click", event => clicked(state, event));
    }
    if (state.drawn !== state.figure) return;
    delete root.dataset.drawing;
    if (frame) root.dataset.scrubbed = String(value);  // for a clock: this value's picture is drawn
  };
  if (update) {
    const restyle = restyleUpdate(previousStyles, styles, data);
    return (restyle ? Plotly.update(plot, restyle.update, update, restyle.indices) : Plotly.relayout(plot, update)).then(done);
  }
  if (document.fullscreenElement === root) layout.height = window.innerHeight;
  layout.autosize = true;
  delete layout.width;
  // The trace objects plotly.js holds where a trace is unchanged: it redraws only what changed.
  const kept = plot.data ? data.map((trace, i) => (previous?.[i] === traces[i] && previousStyles[i] === styles[i]
    ? plot.data[i] : trace)) : data;
  // Plotly.react keeps the plot's div (and whatever the page put on it) and redraws what changed.
  return Plotly.react(plot, { data: kept, layout, frames, config: state.config }).then(done);
}

// The value of the scrub slider this chart follows, as the tab's thumb shows it (widgets/scrub.js),
// else as the server last had it; undefined without one.
function scrubValue(state) {
  return state.scrub ? window.__netlensScrub?.[state.scrub.group]?.value ?? state.scrub.value : undefined;
}

// A point clicked: a chart that follows a scrub slider along the clicked axis moves it there (every
// chart of the slider follows, and the slider tells the server), and the server hears of the point.
function clicked(state, event) {
  const point = event.points && event.points[0];
  if (!point) return;
  const traces = state.scrub && state.scrub.clickTraces;
  const axis = state.scrub && (!traces || traces.includes(point.curveNumber)) && state.scrub.click;
  const value = axis && typeof point[axis] === "number" ? Math.round(point[axis]) : undefined;
  if (value !== undefined && state.scrub.frames[value]) {
    const scrubs = window.__netlensScrub || (window.__netlensScrub = {});
    scrubs[state.scrub.group] = { value, at: performance.now() };
    window.dispatchEvent(new CustomEvent("netlens-scrub", { detail: { group: state.scrub.group, value, source: "chart" } }));
  }
  if (state.clicks) state.setTriggerValue("click", { x: point.x, y: point.y, curve: point.curveNumber });
}

// The thumb moved: the chart draws that value's frame now, before the server's rerun brings it.
function scrubbed(root, state, group) {
  if (state.scrub && state.scrub.group === group && state.drawn) redraw(root, state);
}

// Draw the chart's latest picture again outside a message (a thumb moved, the chart came near, a print),
// marked drawing until it is on screen; nothing before plotly.js has loaded (the message's draw follows).
function redraw(root, state) {
  if (!window.Plotly) return;
  root.dataset.drawing = "true";
  draw(window.Plotly, root, state);
}

// `object` with `value` at a Plotly.relayout path ("shapes[3].y0", "title.text"); null deletes it.
function setPath(object, path, value) {
  const keys = path.split(".").flatMap(part => {
    const match = part.match(/^(.*)\[(\d+)\]$/);
    return match ? [match[1], Number(match[2])] : [part];
  });
  let at = object;
  for (const [k, key] of keys.slice(0, -1).entries()) {
    if (at[key] === undefined || at[key] === null) at[key] = typeof keys[k + 1] === "number" ? [] : {};
    at = at[key];
  }
  const last = keys[keys.length - 1];
  if (value === null) delete at[last];
  else at[last] = value;
}

// The restyled attributes (a frame's "restyle": hover templates, which plotly.js draws nothing again for)
// that differ between the styles drawn (`before`) and `after`, each trace index -> their JSON, as
// Plotly.update's trace update with the indices it applies to (values from `data`, the picture's traces);
// null if none differs.
function restyleUpdate(before, after, data) {
  const indices = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(i => before[i] !== after[i]);
  if (!indices.length) return null;
  const names = new Set(indices.flatMap(i => [before[i], after[i]].filter(Boolean).flatMap(s => Object.keys(JSON.parse(s)))));
  const update = {};
  for (const name of names) update[name] = indices.map(i => data[i][name] ?? null);
  return { update, indices: indices.map(Number) };
}

// When only the layout changed (the Recurrent page's timestep moves an outline over eleven heatmaps),
// the layout's changed keys, for Plotly.relayout: Plotly.react would draw the whole plot again (50-70 ms
// for those heatmaps; relayout of a shape takes 1-5 ms). Null when a trace changed, or on a first draw.
// The traces are compared as the server wrote them, not parsed and written again.
function layoutUpdate(state, traces, layout, frames) {
  const keys = Object.fromEntries(Object.entries(layout).map(([key, value]) => [key, JSON.stringify(value)]));
  const before = state.keys;
  const same = state.drawnTraces && state.drawnTraces.length === traces.length
    && traces.every((trace, i) => trace === state.drawnTraces[i]) && !frames && before;
  state.drawnTraces = traces;
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

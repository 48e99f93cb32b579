// Streamlit writes a few labels that only screen readers meet in English: the file input's "file
// upload", "Help for <label>" on every help icon, the uploader button's name, and fixed ones such as
// "Fullscreen" or "Collapse sidebar" (`exact`: English label -> the page's). This element
// (no markup of its own) gives them the page's language, again whenever Streamlit re-renders them.
export default function ({ data }) {
  const state = window.__netlensLabels || (window.__netlensLabels = { data: null, queued: false });
  state.data = data;
  const set = (el, label) => { if (label && el.getAttribute("aria-label") !== label) el.setAttribute("aria-label", label); };
  const apply = () => {
    state.queued = false;
    const d = state.data;
    document.querySelectorAll("[data-testid='stFileUploaderDropzoneInput']").forEach(el => set(el, d.input));
    document.querySelectorAll("[data-testid='stFileUploaderDropzone'] button").forEach(el => set(el, d.button));
    for (const [english, label] of Object.entries(d.exact || {})) {
      document.querySelectorAll(`[aria-label='${english}']`).forEach(el => set(el, label));
    }
    if (d.help) {
      document.querySelectorAll("button[aria-label^='Help for ']").forEach(el =>
        set(el, d.help.replace("{label}", el.getAttribute("aria-label").slice("Help for ".length))));
    }
  };
  if (!state.observer) {
    state.observer = new MutationObserver(() => {
      if (!state.queued) { state.queued = true; requestAnimationFrame(apply); }
    });
    state.observer.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["aria-label"] });
  }
  apply();
}

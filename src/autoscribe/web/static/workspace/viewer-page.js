// Ephemeral viewer page: apply the integrator's hanging protocol (reference 4.2). The viewer has
// one viewport, so the protocol decides which series it shows first: the first viewport's
// series (matched by series description, case-insensitively), unless the reader has already
// moved on. Plain script, no build step.
(function () {
  "use strict";
  const host = document.getElementById("viewer");
  if (!host || !host.dataset.hangingProtocol) return;
  let protocol;
  try {
    protocol = JSON.parse(host.dataset.hangingProtocol);
  } catch (e) {
    return;
  }
  const wanted = (protocol.viewportAssignments || []).filter((x) => typeof x === "string" && x.trim());
  if (!wanted.length) return;
  let applied = false;

  function apply() {
    const viewer = host.autoscribeViewer;
    if (applied || !viewer || viewer.userNavigated) return;
    const series = viewer.state().series;
    for (const name of wanted) {
      const match = series.find((s) => (s.description || "").trim().toLowerCase() === name.trim().toLowerCase());
      if (match) {
        viewer.setSeries(match.seriesInstanceUID);
        // setSeries counts as navigation; the reader has not moved yet.
        viewer.userNavigated = false;
        applied = true;
        host.dataset.hangingApplied = match.seriesInstanceUID;
        return;
      }
    }
  }

  host.addEventListener("autoscribe:first-image", apply);
  host.addEventListener("autoscribe:loaded", apply);
})();

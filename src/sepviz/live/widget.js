// sepviz live widgets: widgets.live_slider, widgets.photo_relighter and
// widgets.live_traversal, one script. `kind` "slider" (a FaderNet, latents given; one slider
// per attribute of y, `input.sepviz-y[data-attribute=k]`), "photo" (a FaderNet, encoder
// given) or "traversal" (a VAE: one slider per unit of z, a "sample" button; its decoder
// takes z alone).
// Every failure (no script, no wasm, an old browser) lands in fail(): the note shows, the
// controls stay hidden, and the page's other content is untouched.
(function () {
  var root = document.getElementById("__ID__");
  if (!root) return;
  var data = JSON.parse(root.querySelector("script.sepviz-data").textContent);
  var note = root.querySelector(".sepviz-note");
  var controls = root.querySelector(".sepviz-controls");
  var sliders = root.querySelectorAll("input.sepviz-y");  // y[k] is data-attribute="k"'s
  var canvas = root.querySelector("canvas.sepviz-canvas");
  var kind = root.dataset.sepviz, units = root.querySelectorAll("input.sepviz-unit");
  var S = data.size, face = 0, z = null, busy = false, pending = null, samples = 0;
  note.textContent = "Loading the live model…";
  function fail(error) {
    root.dataset.state = "unavailable";
    controls.hidden = true;
    note.hidden = false;
    note.textContent = data.unavailable;
    if (window.console) console.warn("sepviz live widget:", error);
  }
  function loadOrt(base) {
    if (!window.__sepvizOrt) {
      window.__sepvizOrt = new Promise(function (resolve, reject) {
        if (window.ort) return resolve(window.ort);
        var s = document.createElement("script");
        s.src = base + "ort.wasm.min.js";
        s.onload = function () {
          window.ort ? resolve(window.ort) : reject(new Error("no ort in " + s.src));
        };
        s.onerror = function () { reject(new Error("could not load " + s.src)); };
        document.head.appendChild(s);
      }).then(function (ort) {
        ort.env.wasm.wasmPaths = base;
        ort.env.wasm.numThreads = 1;
        return ort;
      });
    }
    return window.__sepvizOrt;
  }
  function bytes(b64) {
    var s = atob(b64), out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  var base = new URL(data.ort, document.baseURI).href;
  var ready = loadOrt(base).then(function (ort) {
    var sessions = [ort.InferenceSession.create(bytes(data.decoder))];
    if (data.encoder) sessions.push(ort.InferenceSession.create(bytes(data.encoder)));
    return Promise.all(sessions).then(function (s) {
      return { ort: ort, decoder: s[0], encoder: s[1] };
    });
  });
  function draw(rt, state) {  // decode state.z (and state.y, a FaderNet's) onto the canvas
    var Tensor = rt.ort.Tensor, feeds = {};
    feeds.z = new Tensor("float32", Float32Array.from(state.z), [1, state.z.length]);
    if (state.y !== null)
      feeds.y = new Tensor("float32", Float32Array.from(state.y), [1, state.y.length]);
    var t0 = performance.now();
    return rt.decoder.run(feeds).then(function (out) {
      var ms = performance.now() - t0, x = out.out.data, n = S * S;
      var ctx = canvas.getContext("2d"), img = ctx.createImageData(S, S);
      var left = 0, right = 0;
      for (var p = 0; p < n; p++) {
        var mean = 0;
        for (var c = 0; c < 3; c++) {
          var v = Math.min(1, Math.max(0, x[c * n + p]));
          img.data[4 * p + c] = Math.round(v * 255);
          mean += v / 3;
        }
        img.data[4 * p + 3] = 255;
        if (p % S < S / 2) left += mean; else right += mean;
      }
      ctx.putImageData(img, 0, 0);
      canvas.dataset.left = (left / (n / 2)).toFixed(6);
      canvas.dataset.right = (right / (n / 2)).toFixed(6);
      canvas.dataset.mean = ((left + right) / n).toFixed(6);
      canvas.dataset.ms = ms.toFixed(3);
      if (state.y !== null) canvas.dataset.y = state.y.map(String).join(",");
      if (kind === "traversal")  // the code drawn (the FaderNet widgets keep their attributes)
        canvas.dataset.z = state.z.map(function (v) { return v.toFixed(4); }).join(",");
      canvas.dataset.face = String(state.face);
      canvas.dataset.draws = String(Number(canvas.dataset.draws || 0) + 1);
    });
  }
  function signed(v) { return (v >= 0 ? "+" : "") + v.toFixed(2); }
  function yValues() {  // every slider's value, at its attribute's place in y; null: no y
    if (!sliders.length) return null;
    var y = [];
    sliders.forEach(function (input) {
      var k = Number(input.dataset.attribute || 0), v = Number(input.value);
      y[k] = v;
      var out = root.querySelector('output.sepviz-y-value[data-attribute="' + k + '"]');
      if (out) out.textContent = signed(v);
    });
    return y;
  }
  function request() {  // one decoder call at a time; the latest state wins
    pending = { z: z && z.slice(), y: yValues(), face: face };
    if (busy || !z) return;
    busy = true;
    ready.then(function loop(rt) {
      if (pending === null) { busy = false; return; }
      var state = pending; pending = null;
      return draw(rt, state).then(function () { return loop(rt); });
    }).catch(function (error) { busy = false; fail(error); });
  }
  function showUnits() {  // every unit's slider (and its number) to the current z
    units.forEach(function (input) {
      var v = z[Number(input.dataset.unit)];
      input.value = String(v);  // the browser stops it at the slider's ends
      input.parentNode.querySelector("output").textContent = signed(v);
    });
  }
  function pressFace(button) {
    root.querySelectorAll(".sepviz-faces button").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b === button));
    });
  }
  sliders.forEach(function (input) { input.addEventListener("input", request); });
  units.forEach(function (input) {  // unit k's slider sets z[k] only
    input.addEventListener("input", function () {
      var v = Number(input.value);
      z[Number(input.dataset.unit)] = v;
      input.parentNode.querySelector("output").textContent = signed(v);
      request();
    });
  });
  root.querySelectorAll(".sepviz-faces button").forEach(function (button) {
    button.addEventListener("click", function () {
      face = Number(button.dataset.face);
      z = data.z[face].slice();
      pressFace(button);
      if (units.length) showUnits();
      request();
    });
  });
  if (data.z) z = data.z[0].slice();
  // "sample": z from N(0, I), drawn here so a page (and a test) can repeat it: mulberry32
  // (a small 32-bit PRNG) seeded with data.seed, two uniforms per unit through Box-Muller.
  var seed = (data.seed || 0) >>> 0;
  function uniform() {  // mulberry32: the next number in [0, 1)
    seed = (seed + 0x6D2B79F5) >>> 0;
    var t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  function gaussian() {  // Box-Muller; 1 - u in (0, 1] keeps the log finite
    var u = 1 - uniform(), v = uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  var sample = root.querySelector("button.sepviz-sample");
  if (sample) sample.addEventListener("click", function () {
    z = z.map(gaussian);
    face = -1;
    samples += 1;
    canvas.dataset.samples = String(samples);
    pressFace(null);
    showUnits();
    request();
  });
  var file = root.querySelector("input.sepviz-file");
  if (file) file.addEventListener("change", function () {
    var picked = file.files && file.files[0];
    if (!picked) return;
    var url = URL.createObjectURL(picked), photo = new Image();
    photo.onerror = function () {
      URL.revokeObjectURL(url);
      note.hidden = false;
      note.textContent = data.unreadable;
    };
    photo.onload = function () {
      URL.revokeObjectURL(url);
      var side = Math.min(photo.naturalWidth, photo.naturalHeight);
      var sx = (photo.naturalWidth - side) / 2, sy = (photo.naturalHeight - side) / 2;
      var crop = root.querySelector("canvas.sepviz-input");
      var ctx = crop.getContext("2d", { willReadFrequently: true });
      ctx.imageSmoothingEnabled = true;
      ctx.imageSmoothingQuality = "high";
      ctx.drawImage(photo, sx, sy, side, side, 0, 0, S, S);  // centre square, model size
      var rgba = ctx.getImageData(0, 0, S, S).data, n = S * S, x = new Float32Array(3 * n);
      for (var p = 0; p < n; p++)
        for (var c = 0; c < 3; c++) x[c * n + p] = rgba[4 * p + c] / 255;
      ready.then(function (rt) {
        var xt = new rt.ort.Tensor("float32", x, [1, 3, S, S]);
        return rt.encoder.run({ x: xt }).then(function (out) {
          z = Array.from(out.out.data);
          canvas.dataset.encoded = String(Number(canvas.dataset.encoded || 0) + 1);
          note.hidden = true;
          request();
        });
      }).catch(fail);
    };
    photo.src = url;
  });
  ready.then(function () {
    root.dataset.state = "ready";
    note.hidden = true;
    controls.hidden = false;
    request();
  }).catch(fail);
})();

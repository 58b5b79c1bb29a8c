// sepviz live widgets: widgets.live_slider and widgets.photo_relighter, one script.
// One script for both widgets: `kind` "slider" (latents given) or "photo" (encoder given).
// Every failure (no script, no wasm, an old browser) lands in fail(): the note shows, the
// controls stay hidden, and the page's other content is untouched.
(function () {
  var root = document.getElementById("__ID__");
  if (!root) return;
  var data = JSON.parse(root.querySelector("script.sepviz-data").textContent);
  var note = root.querySelector(".sepviz-note");
  var controls = root.querySelector(".sepviz-controls");
  var slider = root.querySelector("input.sepviz-y");
  var shown = root.querySelector("output.sepviz-y-value");
  var canvas = root.querySelector("canvas.sepviz-canvas");
  var S = data.size, face = 0, z = data.z || null, busy = false, pending = null;
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
  function draw(rt, y) {
    var zt = new rt.ort.Tensor("float32", Float32Array.from(z), [1, z.length]);
    var yt = new rt.ort.Tensor("float32", Float32Array.from([y]), [1, 1]);
    var t0 = performance.now();
    return rt.decoder.run({ z: zt, y: yt }).then(function (out) {
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
      canvas.dataset.ms = ms.toFixed(3);
      canvas.dataset.y = String(y);
      canvas.dataset.face = String(face);
      canvas.dataset.draws = String(Number(canvas.dataset.draws || 0) + 1);
    });
  }
  function request() {  // one decoder call at a time; the latest y wins
    pending = Number(slider.value);
    shown.textContent = (pending >= 0 ? "+" : "") + pending.toFixed(2);
    if (busy || !z) return;
    busy = true;
    ready.then(function loop(rt) {
      if (pending === null) { busy = false; return; }
      var y = pending; pending = null;
      return draw(rt, y).then(function () { return loop(rt); });
    }).catch(function (error) { busy = false; fail(error); });
  }
  slider.addEventListener("input", request);
  root.querySelectorAll(".sepviz-faces button").forEach(function (button) {
    button.addEventListener("click", function () {
      face = Number(button.dataset.face);
      z = data.z[face];
      root.querySelectorAll(".sepviz-faces button").forEach(function (b) {
        b.setAttribute("aria-pressed", String(b === button));
      });
      request();
    });
  });
  if (data.z) z = data.z[0];
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

// The speaker's page: pick or drop a video, check its duration in the browser, send it with
// tus-js-client (resumable: after a reload, pick the same file and it continues), then follow
// its processing and play the result. Until the producer locks the link, the speaker may send
// a new version: it goes through the same tus endpoint and becomes the asset's next version,
// while the one online stays there until the new one is ready. No inline script: the page's
// CSP allows only 'self'.
(function () {
  "use strict";
  var app = document.getElementById("app");
  var slotId = app.dataset.slot;
  var maxDuration = Number(app.dataset.maxDuration) || 0;
  var maxBytes = Number(app.dataset.maxBytes) || 0;
  var token = new URLSearchParams(location.search).get("token") || "";
  var query = "?token=" + encodeURIComponent(token);
  var endpoint = new URL("/u/" + slotId + "/tus" + query, location.href).href;
  var statusUrl = "/u/" + slotId + "/status" + query;
  // Not the tus-js-client default (which includes the endpoint URL, so a changed link or host
  // would never find the upload again): the slot, and the file's name, size and date.
  var FINGERPRINT_PREFIX = "podium/" + slotId + "/";
  var $ = function (id) { return document.getElementById(id); };
  var upload = null;
  var paused = false;
  var samples = [];
  var replacing = false;  // the file being picked replaces the video already sent
  var waitingNotice = false;  // a "busy, retrying" message is shown
  var player = {hls: null, version: null};
  window.podiumSpeaker = {state: "idle", resumedFrom: null, errors: [], version: null, seen: [],
                          playingVersion: null, canReplace: false};

  var MESSAGES = {
    upload_expired: "This upload link has expired. Ask the organisers for a new one.",
    upload_cancelled: "The organisers closed this upload link.",
    upload_timed_out: "This upload link has expired. Ask the organisers for a new one.",
    upload_errored: "This upload link cannot take a video any more.",
    upload_locked: "The organisers have locked this upload: no new video can be sent.",
    upload_closed: "This link has already received its video.",
    asset_processing: "Your video is still being prepared: you can send a new version once " +
      "it is ready.",
    invalid_upload_token: "This link is not complete. Open the exact link you were sent.",
    upload_not_found: "This upload link does not exist (any more).",
    upload_too_large: "The file is larger than this link accepts.",
    unsupported_container: "This file is not a video format we accept (MP4/MOV, MKV/WebM, " +
      "AVI, MPEG-TS, FLV, MXF).",
    playlist_not_allowed: "This is a playlist, not a video file. Choose the video itself.",
    empty_file: "The file is empty.",
    checksum_mismatch: "Part of the file was damaged in transit; it is being sent again.",
    transfer_gone: "This upload was stopped. Choose the file again to start over.",
    transfer_locked: "The upload is busy; retrying…",
    duration_exceeds_upload_limit: "The video is longer than this link allows.",
    duration_too_long: "The video is longer than the service accepts.",
    probe_failed: "The file could not be read as a video (is it complete?).",
    no_video_stream: "The file has no picture: send a video, not only sound.",
    processing_failed: "Processing failed on our side. The organisers have been told.",
    service_unavailable: "The service is busy; retrying shortly.",
    storage_unavailable: "The service is busy right now: the upload continues by itself in a " +
      "moment. Keep this page open.",
    too_many_jobs: "Many videos are being prepared for this event right now: your upload " +
      "starts by itself once there is room. Keep this page open."
  };

  function show(id, on) { $(id).hidden = !on; }

  function say(text, good) {
    var box = $("message");
    box.textContent = text;
    box.className = "message " + (good ? "good" : "bad");
    box.hidden = !text;
  }

  function explain(code, fallback) { return MESSAGES[code] || fallback || "Something went wrong."; }

  function errorOf(err) {
    var res = err && err.originalResponse;
    if (res) {
      try {
        var body = JSON.parse(res.getBody());
        if (body && body.error) { return body.error; }
      } catch (ignored) { /* not JSON: fall through */ }
      return {code: "http_" + res.getStatus(), message: "The server answered " + res.getStatus() + "."};
    }
    return {code: "network", message: "The connection was lost. Check your network and try again."};
  }

  function bytes(n) {
    if (n >= 1e9) { return (n / 1e9).toFixed(2) + " GB"; }
    if (n >= 1e6) { return (n / 1e6).toFixed(1) + " MB"; }
    return Math.round(n / 1e3) + " kB";
  }

  function clock(seconds) {
    if (!isFinite(seconds)) { return ""; }
    var s = Math.max(0, Math.round(seconds));
    var h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60);
    return (h ? h + " h " : "") + (h || m ? m + " min " : "") + (h ? "" : s % 60 + " s");
  }

  function progress(sent, total) {
    if (waitingNotice) { say(""); waitingNotice = false; }
    var now = performance.now();
    samples.push([now, sent]);
    while (samples.length > 2 && now - samples[0][0] > 8000) { samples.shift(); }
    var percent = total ? 100 * sent / total : 0;
    $("bar").value = percent;
    $("percent").textContent = percent.toFixed(1) + " % of " + bytes(total);
    var first = samples[0];
    var rate = now > first[0] ? (sent - first[1]) / ((now - first[0]) / 1000) : 0;
    if (rate > 0) {
      $("speed").textContent = bytes(rate) + "/s";
      $("left").textContent = clock((total - sent) / rate) + " left";
    }
    window.podiumSpeaker.sent = sent;
  }

  function readDuration(file) {
    // The browser reads the file's own header: an over-long video is refused before any byte
    // is sent. Formats it cannot read (MXF, some MKV) are left to the server's check.
    return new Promise(function (resolve) {
      var video = document.createElement("video");
      var url = URL.createObjectURL(file);
      var settled = false;
      var done = function (value) {
        if (settled) { return; }
        settled = true;
        URL.revokeObjectURL(url);
        resolve(value);
      };
      video.preload = "metadata";
      video.onloadedmetadata = function () { done(isFinite(video.duration) ? video.duration : null); };
      video.onerror = function () { done(null); };
      setTimeout(function () { done(null); }, 8000);
      video.src = url;
    });
  }

  function unfinished() {
    var found = [];
    for (var i = 0; i < localStorage.length; i++) {
      var key = localStorage.key(i);
      if (key && key.indexOf("tus::" + FINGERPRINT_PREFIX) === 0) {
        try { found.push(JSON.parse(localStorage.getItem(key))); } catch (ignored) { /* skip */ }
      }
    }
    return found;
  }

  function hintResume() {
    var previous = unfinished();
    if (!previous.length) { return; }
    var meta = previous[0].metadata || {};
    var hint = $("resume-hint");
    hint.textContent = "An upload of \u201c" + (meta.filename || "your video") + "\u201d did not " +
      "finish. Choose the same file again and it continues where it stopped.";
    hint.className = "message good";
    hint.hidden = false;
  }

  function start(file) {
    say("");
    if (maxBytes && file.size > maxBytes) { say(explain("upload_too_large")); return; }
    readDuration(file).then(function (duration) {
      if (maxDuration && duration !== null && duration > maxDuration + 0.5) {
        say("This video lasts " + clock(duration) + "; this link accepts at most " +
            clock(maxDuration) + ". Please send a shorter one.");
        return;
      }
      send(file);
    });
  }

  function send(file) {
    show("pick", false);
    show("keep", false);
    show("resume-hint", false);
    show("replace", false);
    show("replace-closed", false);
    show("processing", false);
    show("sending", true);
    if (replacing) {
      show("preview", false);
      $("player").pause();
    }
    $("sending-title").textContent = replacing ? "Sending your new version\u2026" : "Sending\u2026";
    $("pause").textContent = "Pause";
    paused = false;
    window.podiumSpeaker.state = "sending";
    samples = [];
    upload = new tus.Upload(file, {
      endpoint: endpoint,
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000, 60000, 60000],
      chunkSize: 64 * 1024 * 1024,
      metadata: {filename: file.name, filetype: file.type || "application/octet-stream"},
      fingerprint: function (f) {
        return Promise.resolve(FINGERPRINT_PREFIX + [f.name, f.type, f.size, f.lastModified]
          .join("/"));
      },
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      onProgress: progress,
      onShouldRetry: function (err, attempt, options) {
        var status = err.originalResponse ? err.originalResponse.getStatus() : 0;
        var code = errorOf(err).code;
        if (status === 409) { return code === "offset_mismatch"; }
        // 429: the organisers' queue is full (their key's limit), 5xx: the service is busy;
        // both pass by themselves, so the page says so and keeps trying
        if (status === 429 || status >= 500) {
          window.podiumSpeaker.errors.push(code);
          say(explain(code));
          waitingNotice = true;
        }
        return !status || status === 423 || status === 429 || status === 460 || status >= 500;
      },
      onError: function (err) {
        var e = errorOf(err);
        window.podiumSpeaker.errors.push(e.code);
        window.podiumSpeaker.state = "failed";
        say(explain(e.code, e.message));
        $("pause").textContent = "Try again";
        paused = true;
      },
      onSuccess: function () {
        window.podiumSpeaker.state = "sent";
        show("sending", false);
        show("processing", true);
        $("work").value = 0;
        $("stage").textContent = "";
        follow();
      }
    });
    upload.findPreviousUploads().then(function (previous) {
      if (previous.length) {
        window.podiumSpeaker.resumedFrom = previous[0].uploadUrl;
        upload.resumeFromPreviousUpload(previous[0]);
        $("sending-title").textContent = "Continuing where it stopped…";
      }
      upload.start();
    });
  }

  $("pause").addEventListener("click", function () {
    if (!upload) { return; }
    if (paused) {
      say("");
      paused = false;
      $("pause").textContent = "Pause";
      upload.start();
    } else {
      paused = true;
      $("pause").textContent = "Resume";
      upload.abort();
    }
  });

  $("file").addEventListener("change", function (event) {
    var file = event.target.files && event.target.files[0];
    if (file) { start(file); }
  });

  var drop = $("drop");
  ["dragenter", "dragover"].forEach(function (name) {
    drop.addEventListener(name, function (event) {
      event.preventDefault();
      drop.classList.add("over");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    drop.addEventListener(name, function () { drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (event) {
    event.preventDefault();
    var file = event.dataTransfer && event.dataTransfer.files[0];
    if (file) { start(file); }
  });

  function play(src, version) {
    // The version online: loaded once per version (each status answer carries a new token).
    show("preview", true);
    window.podiumSpeaker.playingVersion = version;
    if (player.version === version) { return; }
    player.version = version;
    var video = $("player");
    if (player.hls) { player.hls.destroy(); player.hls = null; }
    if (window.Hls && window.Hls.isSupported()) {
      player.hls = new window.Hls();
      player.hls.loadSource(src);
      player.hls.attachMedia(video);
    } else {
      video.src = src;
    }
  }

  function offerNewVersion(body) {
    // The "send a new version" panel, when the link takes one now; else why not.
    var picking = !$("pick").hidden;
    window.podiumSpeaker.canReplace = !!body.can_replace;
    show("replace", body.can_replace && !picking);
    var closed = $("replace-closed");
    if (body.can_replace) {
      closed.hidden = true;
    } else if (body.locked) {
      closed.textContent = "The organisers have locked this link: the video can no longer " +
        "be replaced.";
      closed.hidden = false;
    } else {
      closed.hidden = true;
    }
  }

  function render(body) {
    // One status answer on the page; true while there is something left to wait for.
    var asset = body.asset;
    if (!asset) { return true; }
    var replacement = asset.version > 0;
    window.podiumSpeaker.version = asset.version;
    window.podiumSpeaker.seen.push([asset.version, asset.playing_version, asset.status]);
    if (asset.hls && asset.playing_version !== null) { play(asset.hls, asset.playing_version); }
    if (asset.status === "ready") {
      show("processing", false);
      $("preview-title").textContent = replacement ? "Your new version is ready" :
        "Your video is ready";
      window.podiumSpeaker.state = "ready";
      offerNewVersion(body);
      // captions still being made: a new version is taken once they are done
      return !body.can_replace && !body.locked && body.status === "asset_created";
    }
    if (asset.status === "errored") {
      window.podiumSpeaker.state = "errored";
      show("processing", false);
      var reason = explain(asset.error && asset.error.code, asset.error && asset.error.message);
      if (asset.hls) {
        $("preview-title").textContent = "Online now: your previous version";
        say("Your new version could not be used: " + reason + " Your previous version is " +
            "still online.");
      } else {
        say(reason);
      }
      offerNewVersion(body);
      return false;
    }
    show("processing", true);
    $("processing-title").textContent = replacement ?
      "Thank you! Your new version is being prepared" :
      "Thank you! Your video is being prepared";
    show("processing-note", replacement && !!asset.hls);
    if (asset.hls) { $("preview-title").textContent = "Online now: your previous version"; }
    $("work").value = asset.progress.percent;
    $("stage").textContent = "Step: " + asset.progress.stage + " (" +
      Math.round(asset.progress.percent) + " %)";
    return true;
  }

  function follow() {
    fetch(statusUrl, {cache: "no-store"}).then(function (res) {
      return res.json().then(function (body) { return [res, body]; });
    }).then(function (pair) {
      var res = pair[0], body = pair[1];
      if (!res.ok) { say(explain(body.error && body.error.code, body.error && body.error.message)); return; }
      if (render(body)) { setTimeout(follow, 2000); }
    }).catch(function () { setTimeout(follow, 5000); });
  }

  $("replace-button").addEventListener("click", function () {
    replacing = true;
    say("");
    $("drop-title").textContent = "Drop your new version here";
    $("file").value = "";
    show("replace", false);
    show("pick", true);
    show("keep", true);
    $("file").focus();
  });

  $("keep").addEventListener("click", function () {
    replacing = false;
    show("pick", false);
    show("keep", false);
    show("replace", window.podiumSpeaker.canReplace);
    $("replace-button").focus();
  });

  // What the link is at now: open, already sent (follow the processing), or closed.
  fetch(statusUrl, {cache: "no-store"}).then(function (res) { return res.json(); })
    .then(function (body) {
      if (body.error) { show("pick", false); say(explain(body.error.code, body.error.message)); return; }
      if (body.status === "asset_created") { show("pick", false); follow(); return; }
      if (body.status !== "waiting") { show("pick", false); say(explain("upload_" + body.status)); return; }
      if (body.locked) { show("pick", false); say(explain("upload_locked")); return; }
      hintResume();
    });
}());

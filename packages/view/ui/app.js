/* global document, window, location, EventSource, URLSearchParams */
// traceweave-view's page: plain JS, no framework, no build, nothing from the network but this viewer.
// The waterfall rows come laid out by the server's renderer (@traceweave/view/render); this file
// only draws them. Served live (fetch + server-sent events) or inlined into the HTML report, where
// the data sits in <script id="traceweave-data"> and nothing is fetched.
;(function () {
  'use strict'
  var embedded = document.getElementById('traceweave-data')
  var report = embedded ? JSON.parse(embedded.textContent) : null
  var summaries = report
    ? report.traces.map(function (detail) {
        return detail.summary
      })
    : []
  var details = {}
  if (report) {
    report.traces.forEach(function (detail) {
      details[detail.summary.traceId] = detail
    })
  }
  var search = document.getElementById('search')
  var tbody = document.querySelector('#traces tbody')
  var listView = document.getElementById('list-view')
  var traceView = document.getElementById('trace-view')
  var live = document.getElementById('live')

  function el(tag, className, text) {
    var node = document.createElement(tag)
    if (className) node.className = className
    if (text !== undefined && text !== null) node.textContent = String(text)
    return node
  }

  // Services get well-separated hues (golden angle) in the order the page first meets them.
  var hues = {}
  var nextHue = 0
  function hue(name) {
    if (!(name in hues)) hues[name] = Math.round((200 + nextHue++ * 137.508) % 360)
    return hues[name]
  }

  function plural(count, noun) {
    return count + ' ' + noun + (count === 1 ? '' : 's')
  }

  function serviceBadge(name) {
    var badge = el('span', 'service', name)
    badge.style.setProperty('--hue', String(hue(name)))
    return badge
  }

  function duration(ms) {
    if (!(ms >= 0)) return '0 ms'
    if (ms < 1) return Math.round(ms * 1000) + ' µs'
    if (ms < 1000) return ms.toFixed(1) + ' ms'
    return (ms / 1000).toFixed(2) + ' s'
  }

  function time(ms) {
    var date = new Date(ms)
    return date.toLocaleTimeString() + '.' + String(date.getMilliseconds()).padStart(3, '0')
  }

  // Every word must match some field of the trace; `error` and `ok` match the status.
  function matches(summary, query) {
    var words = query.toLowerCase().split(/\s+/).filter(Boolean)
    if (words.length === 0) return true
    var fields = [summary.traceId, summary.rootName]
      .concat(summary.services, summary.requestIds, summary.sessionIds, summary.userIds, summary.routes)
      .map(function (value) {
        return String(value).toLowerCase()
      })
    return words.every(function (word) {
      var status = word.replace(/^status:/, '')
      if (status === 'error' || status === 'errors') return summary.status === 'error'
      if (status === 'ok') return summary.status === 'ok'
      return fields.some(function (field) {
        return field.indexOf(word) !== -1
      })
    })
  }

  function renderList() {
    var query = search.value
    var shown = summaries.filter(function (summary) {
      return matches(summary, query)
    })
    tbody.textContent = ''
    shown.forEach(function (summary) {
      var row = el('tr', summary.errorCount > 0 ? 'has-error' : '')
      row.dataset.traceId = summary.traceId
      var root = el('td', 'root', summary.rootName || '(unnamed)')
      root.title = summary.traceId
      row.appendChild(root)
      var services = el('td', 'services')
      summary.services.forEach(function (name) {
        services.appendChild(serviceBadge(name))
      })
      row.appendChild(services)
      row.appendChild(el('td', 'num', duration(summary.durationMs)))
      row.appendChild(el('td', 'num', summary.spanCount))
      row.appendChild(el('td', 'num errors', summary.errorCount || ''))
      row.appendChild(el('td', 'request-id', summary.requestIds.join(' ')))
      row.appendChild(el('td', 'user', summary.userIds.join(' ')))
      row.appendChild(el('td', 'started', time(summary.startMs)))
      row.addEventListener('click', function () {
        location.hash = '#/trace/' + summary.traceId
      })
      tbody.appendChild(row)
    })
    document.getElementById('empty').hidden = summaries.length > 0
    if (summaries.length > 0 && shown.length === 0) {
      var none = el('tr')
      var cell = el('td', 'empty', 'No trace matches "' + query + '".')
      cell.colSpan = 8
      none.appendChild(cell)
      tbody.appendChild(none)
    }
  }

  function table(entries) {
    var out = el('table')
    entries.forEach(function (entry) {
      var tr = el('tr')
      tr.appendChild(el('td', '', entry[0]))
      var value = entry[1]
      tr.appendChild(el('td', '', typeof value === 'string' ? value : JSON.stringify(value)))
      out.appendChild(tr)
    })
    return out
  }

  function attributeEntries(attributes) {
    return Object.keys(attributes || {}).map(function (key) {
      return [key, attributes[key]]
    })
  }

  function showDetails(row) {
    var span = row.span
    var box = document.getElementById('details')
    box.textContent = ''
    box.appendChild(el('h3', '', span.name))
    box.appendChild(
      table(
        [
          ['service', row.service],
          ['kind', span.kind],
          ['status', span.status.code + (span.status.message ? ': ' + span.status.message : '')],
          ['duration', duration(row.durationMs)],
          ['start', new Date(span.startMs).toISOString()],
          ['trace ID', span.traceId],
          ['span ID', span.spanId],
          [
            'parent span ID',
            span.parentSpanId ? span.parentSpanId + (row.orphan ? ' (never arrived)' : '') : '(root)',
          ],
          ['critical path', row.critical ? 'yes' : 'no'],
        ].concat(
          span.scope
            ? [
                [
                  'instrumentation scope',
                  span.scope.name + (span.scope.version ? ' ' + span.scope.version : ''),
                ],
              ]
            : [],
        ),
      ),
    )
    box.appendChild(el('h3', '', 'Attributes'))
    box.appendChild(table(attributeEntries(span.attributes)))
    box.appendChild(el('h3', '', 'Events (' + span.events.length + ')'))
    span.events.forEach(function (event) {
      box.appendChild(el('p', 'meta', '+' + duration(event.timeMs - span.startMs) + '  ' + event.name))
      box.appendChild(table(attributeEntries(event.attributes)))
    })
    box.appendChild(el('h3', '', 'Links (' + span.links.length + ')'))
    span.links.forEach(function (link) {
      box.appendChild(
        table(
          [
            ['trace ID', link.traceId],
            ['span ID', link.spanId],
          ].concat(attributeEntries(link.attributes)),
        ),
      )
    })
    box.appendChild(el('h3', '', 'Resource'))
    box.appendChild(table(attributeEntries(span.resource)))
  }

  function renderTrace(detail) {
    var summary = detail.summary
    var waterfall = detail.waterfall
    document.getElementById('trace-title').textContent = summary.rootName || summary.traceId
    var meta = [
      'trace ' + summary.traceId,
      duration(waterfall.durationMs),
      plural(summary.spanCount, 'span'),
      plural(summary.services.length, 'service'),
      plural(summary.errorCount, 'error'),
    ]
    if (!summary.hasRoot) meta.push('root span missing')
    if (detail.droppedSpans > 0) meta.push(detail.droppedSpans + ' spans dropped (limit per trace)')
    var metaBox = document.getElementById('trace-meta')
    metaBox.textContent = meta.join(' · ') + '   '
    var legend = el('span', 'legend', 'critical path:')
    legend.appendChild(el('span', 'critical-swatch'))
    metaBox.appendChild(legend)
    var box = document.getElementById('waterfall')
    box.textContent = ''
    document.getElementById('details').textContent = ''
    // CPU and memory columns only when some span of the trace has resource attributes.
    var hasCpu = waterfall.rows.some(function (row) {
      return row.resources && row.resources.cpuText
    })
    var hasMemory = waterfall.rows.some(function (row) {
      return row.resources && row.resources.memoryText
    })
    box.classList.toggle('with-cpu', hasCpu)
    box.classList.toggle('with-memory', hasMemory)
    // A time ruler over the bars: 0, a quarter, half, three quarters, the whole trace.
    var ruler = el('div', 'row ruler')
    ruler.appendChild(el('div', '', 'service'))
    ruler.appendChild(el('div', '', 'span'))
    var scale = el('div', 'scale')
    ;[0, 0.25, 0.5, 0.75, 1].forEach(function (fraction) {
      var tick = el('span', 'tick', fraction === 0 ? '0' : duration(waterfall.durationMs * fraction))
      tick.style.left = fraction * 100 + '%'
      scale.appendChild(tick)
    })
    ruler.appendChild(scale)
    ruler.appendChild(el('div', 'duration', 'duration'))
    if (hasCpu) ruler.appendChild(el('div', 'cpu', 'cpu'))
    if (hasMemory) ruler.appendChild(el('div', 'memory', 'memory'))
    ruler.appendChild(el('div', '', 'status'))
    box.appendChild(ruler)
    waterfall.rows.forEach(function (row) {
      var span = row.span
      var line = el(
        'div',
        'row' + (row.critical ? ' critical' : '') + (span.status.code === 'error' ? ' error' : ''),
      )
      line.setAttribute('role', 'treeitem')
      line.dataset.spanId = span.spanId
      line.style.setProperty('--hue', String(hue(row.service)))
      line.appendChild(el('div', 'service-cell')).appendChild(serviceBadge(row.service))
      var name = el('div', 'name', span.name)
      name.style.paddingLeft = Math.min(row.depth, 20) * 14 + 'px'
      name.title = span.name
      if (row.orphan) name.appendChild(el('span', 'orphan-mark', 'parent missing'))
      line.appendChild(name)
      var track = el('div', 'track')
      var bar = el('div', 'bar')
      bar.style.left = (row.offset * 100).toFixed(3) + '%'
      bar.style.width = Math.max(0, Math.min(1 - row.offset, row.width) * 100).toFixed(3) + '%'
      track.appendChild(bar)
      line.appendChild(track)
      line.appendChild(el('div', 'duration', duration(row.durationMs)))
      var resources = row.resources || {}
      if (hasCpu) {
        var cpu = el('div', 'cpu', resources.cpuText || '')
        var about = []
        if (resources.cpuOf === 'request') about.push("the request's own CPU time (attributed)")
        if (resources.cpuOf === 'process') about.push('CPU time of the whole process while the span was open')
        if (resources.eventLoopText) about.push('event loop busy ' + resources.eventLoopText)
        cpu.title = about.join('; ')
        line.appendChild(cpu)
      }
      if (hasMemory) {
        var memory = el('div', 'memory', resources.memoryText || '')
        memory.title = 'heap + external memory change while the span was open'
        line.appendChild(memory)
      }
      var status = span.status.code === 'unset' ? '' : span.status.code.toUpperCase()
      line.appendChild(el('div', 'status ' + span.status.code, status))
      line.appendChild(
        el(
          'div',
          'highlights',
          row.highlights
            .map(function (pair) {
              return pair[0] + '=' + pair[1]
            })
            .join('  '),
        ),
      )
      line.addEventListener('click', function () {
        var selected = box.querySelector('.row.selected')
        if (selected) selected.classList.remove('selected')
        line.classList.add('selected')
        showDetails(row)
      })
      box.appendChild(line)
    })
  }

  function loadTrace(traceId) {
    if (report) return Promise.resolve(details[traceId] || null)
    return window.fetch('api/traces/' + traceId).then(function (response) {
      return response.ok ? response.json() : null
    })
  }

  function route() {
    var match = /^#\/trace\/([0-9a-f]{32})$/.exec(location.hash)
    if (!match) {
      traceView.hidden = true
      listView.hidden = false
      renderList()
      return
    }
    loadTrace(match[1]).then(function (detail) {
      listView.hidden = true
      traceView.hidden = false
      if (detail) renderTrace(detail)
      else {
        document.getElementById('trace-title').textContent = 'Trace ' + match[1] + ' is not held (any more).'
        document.getElementById('waterfall').textContent = ''
      }
    })
  }

  function refreshList() {
    return window
      .fetch('api/traces?' + new URLSearchParams({ limit: '1000' }))
      .then(function (response) {
        return response.json()
      })
      .then(function (body) {
        summaries = body.traces
        var stats = body.stats
        document.getElementById('stats').textContent =
          stats.traces +
          ' traces held, ' +
          stats.droppedTraces +
          ' dropped (oldest first), ' +
          stats.rejectedRequests +
          ' requests rejected'
        if (!listView.hidden) renderList()
      })
  }

  search.addEventListener('input', function () {
    if (location.hash) location.hash = ''
    else renderList()
  })
  window.addEventListener('hashchange', route)

  if (report) {
    live.textContent = 'report of ' + report.generatedAt + ' (' + summaries.length + ' traces)'
    route()
    return
  }
  var pending = null
  function scheduleRefresh() {
    if (pending) return
    pending = setTimeout(function () {
      pending = null
      refreshList()
    }, 250)
  }
  refreshList().then(route)
  if (typeof EventSource === 'function') {
    var events = new EventSource('api/events')
    events.addEventListener('open', function () {
      live.textContent = '● live'
    })
    events.addEventListener('trace', scheduleRefresh)
    events.addEventListener('error', function () {
      live.textContent = 'reconnecting…'
    })
  } else {
    setInterval(refreshList, 3000)
  }
})()

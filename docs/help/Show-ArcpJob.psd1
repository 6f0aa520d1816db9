@{
    Synopsis    = 'Shows a job''s timeline: one bar per step on a time axis, crash gaps, retries and the running step; -Html writes it as a page.'
    Description = @'
Show-ArcpJob reads the job and its recorded event stream (the same data as Get-ArcpEvent) and draws its history on one time axis, from job.started to the job's last event (or now, for a job that is running):

- one row per attempt at a step, a bar from the step's start to its checkpoint (█);

- the running step of a live job (▶, highlighted in colour) and a step a process stopped in before its checkpoint (×, "interrupted");

- a failed step (!);

- a "crash gap" row (░) for the time no process ran the job: from the last event of a run that ended without finishing the job to the start of the run that resumed it;

- retries: the second and later attempts at a step are labelled ↻2, ↻3, …

Step starts are derived from the event stream, because checkpoints do not record them yet: a step starts when the step before it was checkpointed, the first step when the job started, and the first step of a resumed run when that run's session opened (the session id is a ULID and carries its creation time). Such inferred durations are marked with ≤. When a checkpoint's snapshot records started_at or attempts, those are used instead.

In the console the timeline fits -Width characters per line (default: the console's width, 120 when there is none); colour follows $PSStyle.OutputRendering and NO_COLOR, and the characters alone tell every state apart. Names recorded in the store are treated as untrusted: control and formatting characters are shown as '?'.

With -Html it writes one self-contained HTML page (inline CSS and SVG, no script, nothing loaded from the network, every name HTML-escaped) that you can attach to a ticket; hover a bar for its exact times. The file is created readable by you only (on Linux and macOS) and overwritten if it exists; -WhatIf shows the path without writing.
'@
    Parameters  = @{
        Html  = 'Write the timeline as a self-contained HTML page to this file path (relative paths are resolved against the current location; the folder must exist) instead of writing lines to the pipeline. Returns the written file.'
        Width = 'Characters per console line, from 60 to 1000. Defaults to the width of the console, or 120 when output has no console (redirected, in a job).'
    }
    Inputs      = @(
        @{ Type = 'Arcp.Resumability.PowerShell.ArcpJob'; Description = 'Jobs bind by their JobId and Store.' }
    )
    Outputs     = 'Without -Html: the timeline as strings, one per line (header, time axis, one row per step attempt or crash gap, legend). With -Html: the System.IO.FileInfo of the page written.'
    Examples    = @(
        @{ Title = 'The timeline of a job in the console'; Code = 'Get-ArcpJob -Name nightly-research | Show-ArcpJob'; Remarks = 'One bar per step; a crash shows as an interrupted step, a crash gap row and the step''s retry (↻2) in the run that resumed it.' }
        @{ Title = 'A page for a ticket'; Code = 'Show-ArcpJob job_01J… -Html ./job-timeline.html'; Remarks = 'Writes a self-contained HTML page with the same timeline as an SVG; it loads nothing from the network.' }
        @{ Title = 'A narrow rendering for a log'; Code = 'Show-ArcpJob job_01J… -Width 80 | Out-File timeline.txt'; Remarks = 'Every line is at most 80 characters; without a console the default is 120.' }
    )
    Links       = @('Get-ArcpEvent', 'Get-ArcpCheckpoint', 'Get-ArcpJob')
}

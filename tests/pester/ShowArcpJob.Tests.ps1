# Show-ArcpJob on real jobs: a job whose first process is killed mid-step and a second process resumes
# (the crash gap and the retry must show in the console and in the HTML page), and a 100-step job
# (every line within the width, one row per step, an HTML page that scales).

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ArcpModulePath) -Force
    $script:Folder = New-TestFolder
    $script:Steps = Get-FixturePath 'counted-steps.ps1'

    # Child 1 runs the four counted steps and kills itself inside step 'three'; child 2 resumes the job.
    $script:CrashStore = Join-Path $script:Folder 'crash.db'
    $environment = @{
        ARCP_STORE = $script:CrashStore; ARCP_TEST_COUNTER = (Join-Path $script:Folder 'counter.txt')
        ARCP_TEST_KILL_IN_STEP = 'three'; ARCP_TEST_KILL_MARKER = (Join-Path $script:Folder 'killed.txt')
    }
    $module = Get-ArcpModulePath
    $crashed = Start-ChildPwsh -Environment $environment -ScriptText @"
Import-Module '$module'
`$steps = & '$script:Steps'
Start-ArcpJob -Step `$steps -InputObject 1 -Name 'crash <b>"&amp;</b>' | Out-Null
"@
    $crashed.ExitCode | Should -Not -Be 0 -Because 'the first process kills itself in step three'
    $resumed = Start-ChildPwsh -Environment $environment -ScriptText @"
Import-Module '$module'
`$steps = & '$script:Steps'
Get-ArcpJob | Resume-ArcpJob -Step `$steps | Out-Null
"@
    $resumed.ExitCode | Should -Be 0 -Because (Format-ChildResult $resumed)
    $script:CrashJob = Get-ArcpJob -Store $script:CrashStore
    $script:CrashJob.State | Should -Be 'Completed'

    $script:BigStore = Join-Path $script:Folder 'big.db'
    $many = [ordered]@{}
    for ($i = 0; $i -lt 100; $i++) { $many["step-$($i.ToString('000'))-of-the-hundred-step-job"] = { param($n) [int]$n + 1 } }
    $script:BigJob = Start-ArcpJob -Store $script:BigStore -Name 'hundred' -Step $many -InputObject 0 -ErrorAction Stop
}

AfterAll {
    Remove-TestFolder
}

Describe 'Show-ArcpJob in the console' {
    It 'shows the interrupted step, the crash gap and the retry of a crashed and resumed job' {
        $lines = @($script:CrashJob | Show-ArcpJob -Width 100)
        $lines | ForEach-Object { $_.Length | Should -BeLessOrEqual 100 -Because "'$_' must fit" }
        $lines[0] | Should -BeLike "Job $($script:CrashJob.JobId) 'crash <b>`"&amp;</b>' (inline, Completed)"
        $lines[1] | Should -Match '4 checkpoints, 2 runs, 1 crash gap, 1 retry$'
        @($lines | Where-Object { $_ -match '^three\s+│\s*×+\s*│ interrupted$' }).Count | Should -Be 1
        $gap = @($lines | Where-Object { $_ -like '~ crash gap ~*' })
        $gap.Count | Should -Be 1
        $gap[0] | Should -Match '░+'
        $gap[0] | Should -Match '│ \d+\.\d+s gap$'
        # A duration: exact when the checkpoint recorded its step's start (schema 6), else an upper bound (≤).
        @($lines | Where-Object { $_ -match '^three ↻2\s+│\s*█+\s*│ ≤?\d' }).Count | Should -Be 1
        # Rows in time order: one, two, the interrupted three, the gap, three again, four.
        $order = @($lines | ForEach-Object { if ($_ -match '^(one|two|three ↻2|three|four|~ crash gap ~)\s*│') { $Matches[1] } })
        $order | Should -Be @('one', 'two', 'three', '~ crash gap ~', 'three ↻2', 'four')
    }

    It 'fits 100 steps into <Width> columns with one row per step' -ForEach @(@{ Width = 80 }, @{ Width = 120 }) {
        $lines = @(Show-ArcpJob -Store $script:BigStore -JobId $script:BigJob.JobId -Width $Width)
        foreach ($line in $lines) { $line.Length | Should -BeLessOrEqual $Width }
        @($lines | Where-Object { $_ -match '^step-\d{3}.*│.*█.*│ \d' }).Count | Should -Be 100
    }

    It 'uses 120 columns when there is no console to measure' {
        $lines = @(Show-ArcpJob -Store $script:BigStore -JobId $script:BigJob.JobId)
        ($lines | Measure-Object -Property Length -Maximum).Maximum | Should -BeLessOrEqual 120
    }

    It 'reports a job that does not exist as NOT_FOUND' {
        $missing = 'job_01JZZZZZZZZZZZZZZZZZZZZZZZ'
        { Show-ArcpJob -Store $script:CrashStore -JobId $missing -ErrorAction Stop } |
            Should -Throw -ErrorId 'NOT_FOUND,Arcp.Resumability.PowerShell.Commands.ShowArcpJobCommand'
    }
}

Describe 'Show-ArcpJob -Html' {
    It 'writes a self-contained page with the gap, the retry and the escaped job name' {
        $path = Join-Path $script:Folder 'crash.html'
        $file = $script:CrashJob | Show-ArcpJob -Html $path
        $file | Should -BeOfType [System.IO.FileInfo]
        $file.FullName | Should -Be $path
        $html = Get-Content -LiteralPath $path -Raw
        $html | Should -Match '<svg [^>]*viewBox='
        ([regex]::Matches($html, '<g class="row gap">')).Count | Should -Be 1
        ([regex]::Matches($html, '<g class="row done retry">')).Count | Should -Be 1
        ([regex]::Matches($html, '<g class="row interrupted">')).Count | Should -Be 1
        $html | Should -Match 'crash &lt;b&gt;&quot;&amp;amp;&lt;/b&gt;'
        $html | Should -Not -Match '<b>'
        $html | Should -Not -Match '<script|\bsrc=|\bhref=|url\('
        if (-not $IsWindows) { (Get-Item -LiteralPath $path).UnixMode | Should -Be '-rw-------' }
    }

    It 'scales a 100-step page: one row per step in a viewBox as tall as the rows' {
        $path = Join-Path $script:Folder 'hundred.html'
        $null = Show-ArcpJob -Store $script:BigStore -JobId $script:BigJob.JobId -Html $path
        $html = Get-Content -LiteralPath $path -Raw
        ([regex]::Matches($html, '<g class="row done">')).Count | Should -Be 100
        $html | Should -Match 'viewBox="0 0 1000 1840"'
    }

    It 'writes nothing with -WhatIf' {
        $path = Join-Path $script:Folder 'whatif.html'
        $output = $script:CrashJob | Show-ArcpJob -Html $path -WhatIf
        $output | Should -BeNullOrEmpty
        $path | Should -Not -Exist
    }

    It 'reports a folder that does not exist as a write error and creates nothing' {
        $path = Join-Path $script:Folder 'no-such-folder/page.html'
        { $script:CrashJob | Show-ArcpJob -Html $path -ErrorAction Stop } |
            Should -Throw -ErrorId 'HtmlWriteFailed,Arcp.Resumability.PowerShell.Commands.ShowArcpJobCommand'
        Split-Path $path | Should -Not -Exist
    }
}

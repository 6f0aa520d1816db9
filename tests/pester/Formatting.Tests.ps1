# The default views read at a glance: every table fits 120 columns with every column present (nothing
# dropped, nothing shrunk to a stub), and events have a list view of type, time, step and message.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ArcpModulePath) -Force
    $script:Store = New-TestStore
    # Long names and long step names: the widest values the views must cope with.
    $steps = [ordered]@{
        'collect-every-source-from-the-archive-and-index-it' = { 'x' * 300 }
        'summarise'                                           = { param($in) "$($in.Length) characters`nsecond line" }
    }
    $script:Job = Start-ArcpJob -Store $script:Store -Name 'nightly-report-for-the-finance-team' -Step $steps -ErrorAction Stop

    # Every line of the rendering, plus the header line (the one followed by the dashes line).
    function Get-Rendering([object[]]$InputObject, [int]$Width = 120) {
        $lines = @(($InputObject | Out-String -Width $Width) -split "`r?`n")
        $dashes = [array]::FindIndex([string[]]$lines, [Predicate[string]] { param($l) $l -match '^-+( +-+)*\s*$' })
        [pscustomobject]@{ Lines = $lines; Header = if ($dashes -gt 0) { $lines[$dashes - 1] } }
    }
}

AfterAll {
    Remove-TestFolder
}

Describe 'Tables at 120 columns' {
    It 'renders <Name> with every column and no line over 120 characters' -ForEach @(
        @{ Name = 'jobs'; Get = { Get-ArcpJob -Store $script:Store }; Columns = 'JobId', 'Name', 'Workflow', 'State', 'LastCheckpoint', 'UpdatedAt' }
        @{ Name = 'checkpoints'; Get = { Get-ArcpCheckpoint -Store $script:Store -JobId $script:Job.JobId }; Columns = 'StepIndex', 'Step', 'CheckpointId', 'CreatedAt', 'Attempts', 'Duration' }
        @{ Name = 'events'; Get = { Get-ArcpEvent -Store $script:Store -JobId $script:Job.JobId }; Columns = 'Timestamp', 'Type', 'Summary' }
        @{ Name = 'workflows'; Get = { Get-ArcpWorkflow }; Columns = 'Name', 'Source', 'Version', 'Steps', 'Path' }
        @{
            Name    = 'schedules'
            Get     = { $null = Register-ArcpSchedule -Name 'quarterly-ledger-close' -Cron '0 30 23 L 3,6,9,12 *' -TimeZone 'America/Argentina/Buenos_Aires' -Workflow research -Queue accounting -Store $script:Store; Get-ArcpSchedule -Store $script:Store }
            Columns = 'Name', 'Cron', 'TimeZone', 'Workflow', 'Queue', 'NextFireAt'
        }
    ) {
        $objects = @(& $Get)
        $objects | Should -Not -BeNullOrEmpty
        $rendering = Get-Rendering $objects
        $rendering.Header | Should -Not -BeNullOrEmpty -Because 'a table has a header line above its dashes'
        foreach ($line in $rendering.Lines) {
            $line.Length | Should -BeLessOrEqual 120 -Because "'$line' must fit"
        }
        $headers = @($rendering.Header -split '\s+' | Where-Object { $_ })
        $headers | Should -Be $Columns
    }

    It 'keeps full ids and readable step names at 120 columns' {
        $jobs = (Get-Rendering @(Get-ArcpJob -Store $script:Store -JobId $script:Job.JobId)).Lines -join "`n"
        $jobs | Should -Match ([regex]::Escape($script:Job.JobId))
        $jobs | Should -Match '\bCompleted\s+summarise\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d'
        # The first step's name is 50 characters; the checkpoint table keeps a useful prefix and the full id.
        $checkpoints = (Get-Rendering @(Get-ArcpCheckpoint -Store $script:Store -JobId $script:Job.JobId)).Lines -join "`n"
        $checkpoints | Should -Match 'collect-every-source-from-the-archive'
        $checkpoints | Should -Match ([regex]::Escape($script:Job.LastCheckpointId))
    }
}

Describe 'The event list view' {
    It 'shows type, time, step and message, not the raw envelope' {
        $checkpoint = Get-ArcpEvent -Store $script:Store -JobId $script:Job.JobId -Type job.checkpoint | Select-Object -First 1
        $text = $checkpoint | Format-List | Out-String -Width 120
        $text | Should -Match '(?m)^Type\s+: job\.checkpoint\s*$'
        $text | Should -Match '(?m)^Time\s+: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\s*$'
        $text | Should -Match '(?m)^Step\s+: collect-every-source-from-the-archive-and-index-it\s*$'
        $text | Should -Match "(?m)^Message\s+: collect-every-source-from-the-archive-and-index-it \($([regex]::Escape($script:Job.LastCheckpointId.Substring(0, 4)))"
        $text | Should -Not -Match '"arcp"'
        $text | Should -Not -Match 'Envelope'
    }

    It 'names the step of a progress event' {
        $progress = Get-ArcpEvent -Store $script:Store -JobId $script:Job.JobId -Type job.progress | Select-Object -Last 1
        ($progress | Format-List | Out-String -Width 120) | Should -Match '(?m)^Step\s+: summarise\s*$'
    }
}

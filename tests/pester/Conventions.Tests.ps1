# PowerShell conventions of the published module: exports match the assembly, formats render,
# argument completers offer candidates, errors carry the ARCP code and a target.

BeforeAll {
    $script:ManifestPath = $env:ARCP_MODULE_PATH
    if (-not $script:ManifestPath) { throw 'ARCP_MODULE_PATH is not set; run the tests through ./build.ps1 test.' }
    $script:Module = Import-Module $script:ManifestPath -Force -PassThru
    $script:StoreDir = Join-Path ([IO.Path]::GetTempPath()) "arcp-conventions-$([guid]::NewGuid().ToString('n'))"
    $null = New-Item -ItemType Directory -Path $script:StoreDir
    $script:Store = Join-Path $script:StoreDir 'arcp.db'
    $script:Job = Start-ArcpJob -Store $script:Store -Name 'nightly-conventions' -Step ([ordered]@{ first = { 1 }; second = { $_ + 1 } })

    function Get-Completion([string]$Line) {
        # Completion text only; an empty list when nothing completes (also under strict mode).
        @((TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches | ForEach-Object CompletionText)
    }
}

AfterAll {
    Remove-Module Arcp.Resumability -ErrorAction SilentlyContinue
    Remove-Item -LiteralPath $script:StoreDir -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Exports' {
    It 'exports every public cmdlet class in the assembly, and only those' {
        $assembly = [Arcp.Resumability.PowerShell.ArcpJob].Assembly
        $declared = @($assembly.GetExportedTypes() |
                Where-Object { -not $_.IsAbstract } |
                ForEach-Object { $_.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false) } |
                ForEach-Object { "$($_.VerbName)-$($_.NounName)" } | Sort-Object)
        $exported = @((Import-PowerShellDataFile -LiteralPath $script:ManifestPath).CmdletsToExport | Sort-Object)
        $declared | Should -Not -BeNullOrEmpty
        $exported | Should -Be $declared
        @($script:Module.ExportedCmdlets.Keys | Sort-Object) | Should -Be $declared
    }

    It 'declares an output type on every cmdlet' {
        foreach ($name in $script:Module.ExportedCmdlets.Keys) {
            @((Get-Command $name).OutputType).Count | Should -BeGreaterThan 0 -Because "$name should declare [OutputType]"
        }
    }

    It 'has a manifest with editions, tags and links' {
        $manifest = Test-ModuleManifest -Path $script:ManifestPath -ErrorAction Stop
        $manifest.CompatiblePSEditions | Should -Contain 'Core'
        $manifest.Tags | Should -Contain 'ARCP'
        $manifest.ProjectUri | Should -Not -BeNullOrEmpty
        $manifest.LicenseUri | Should -Not -BeNullOrEmpty
    }
}

Describe 'Formats' {
    It 'renders jobs as a table with the state and last checkpoint but not the result' {
        $text = Get-ArcpJob -Store $script:Store | Format-Table | Out-String -Width 200
        $text | Should -Match 'JobId\s+Name\s+Workflow\s+State\s+LastCheckpoint\s+UpdatedAt'
        $text | Should -Match ([regex]::Escape($script:Job.JobId))
        # The table names the last checkpoint's step; its id is in the list view.
        $text | Should -Match '\bCompleted\s+second\s+\d{4}-\d\d-\d\d '
        $text | Should -Not -Match 'Result'
    }

    It 'renders jobs as a list including the result' {
        $text = Get-ArcpJob -Store $script:Store -JobId $script:Job.JobId | Format-List | Out-String -Width 200
        $text | Should -Match 'Result\s+: 2'
        $text | Should -Match 'State\s+: Completed'
    }

    It 'renders checkpoints as a step table' {
        $text = Get-ArcpCheckpoint -Store $script:Store -JobId $script:Job.JobId | Format-Table | Out-String -Width 200
        $text | Should -Match 'StepIndex\s+Step\s+CheckpointId\s+CreatedAt'
        $text | Should -Match '\b1 second\s+chk_'
    }
}

Describe 'Members for the prompt' {
    It 'adds a Duration to jobs and an Id to events' {
        $job = Get-ArcpJob -Store $script:Store -JobId $script:Job.JobId
        $job.Duration | Should -BeOfType [timespan]
        $job.Duration | Should -Be ($job.UpdatedAt - $job.CreatedAt)
        $event = Get-ArcpEvent -Store $script:Store -JobId $script:Job.JobId | Select-Object -First 1
        $event.Id | Should -Be $event.MessageId
    }
}

Describe 'Argument completers' {
    It 'completes job ids from the store given by -Store' {
        $found = Get-Completion "Get-ArcpJob -Store '$script:Store' -JobId "
        $found | Should -Contain $script:Job.JobId
    }

    It 'completes job ids by job name prefix' {
        $found = Get-Completion "Resume-ArcpJob -Store '$script:Store' -JobId nightly-c"
        $found | Should -Contain $script:Job.JobId
    }

    It 'completes checkpoint ids of the job given as -JobId' {
        $expected = (Get-ArcpCheckpoint -Store $script:Store -JobId $script:Job.JobId).CheckpointId
        $found = Get-Completion "Get-ArcpCheckpoint -Store '$script:Store' -JobId $($script:Job.JobId) -CheckpointId "
        @($found) | Sort-Object | Should -Be @($expected | Sort-Object)
    }

    It 'completes built-in workflow names and workflow files' {
        (Get-Completion 'Start-ArcpJob -Workflow res') | Should -Contain 'research'
        Push-Location -LiteralPath $script:StoreDir
        try {
            Set-Content -LiteralPath (Join-Path $script:StoreDir 'my-flow.ps1') -Value "@{ Name = 'my'; Steps = [ordered]@{ a = { 1 } } }"
            (Get-Completion 'Start-ArcpJob -Workflow my') | Should -Contain './my-flow.ps1'
        }
        finally { Pop-Location }
    }

    It 'completes job states' {
        (Get-Completion 'Get-ArcpJob -State Int') | Should -Contain 'Interrupted'
    }

    It 'offers nothing (and creates no store) when the store does not exist' {
        $missing = Join-Path $script:StoreDir 'missing.db'
        (Get-Completion "Get-ArcpJob -Store '$missing' -JobId job_") | Should -Not -Contain $script:Job.JobId
        $missing | Should -Not -Exist
    }
}

Describe 'Error records' {
    It 'names the ARCP code, category and target of a missing job' {
        $err = $null
        Get-ArcpJob -Store $script:Store -JobId job_missing -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'NOT_FOUND,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].TargetObject | Should -Be 'job_missing'
        $err[0].ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
    }

    It 'targets the checkpoint id for a missing checkpoint' {
        $err = $null
        Get-ArcpCheckpoint -Store $script:Store -JobId $script:Job.JobId -CheckpointId chk_missing -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'NOT_FOUND,*'
        $err[0].TargetObject | Should -Be 'chk_missing'
    }
}

Describe 'Several stores' {
    BeforeAll {
        $script:Other = Join-Path $script:StoreDir 'other.db'
        $script:OtherJob = Start-ArcpJob -Store $script:Other -Name 'nightly-other' -Step ([ordered]@{ only = { 'other' } })
    }

    It 'reads jobs from every store -Store names, each job carrying its own store' {
        $jobs = @(Get-ArcpJob -Store $script:Store, $script:Other -Name 'nightly-*')
        $jobs.JobId | Should -Contain $script:Job.JobId
        $jobs.JobId | Should -Contain $script:OtherJob.JobId
        ($jobs | Where-Object JobId -EQ $script:OtherJob.JobId).Store | Should -Be $script:Other
        ($jobs | Where-Object JobId -EQ $script:Job.JobId).Store | Should -Be $script:Store
        @($jobs | Get-ArcpCheckpoint).Step | Should -Be @('first', 'second', 'only')
    }

    It 'finds a job by id in whichever store holds it' {
        (Get-ArcpJob -Store $script:Store, $script:Other -JobId $script:OtherJob.JobId).Store | Should -Be $script:Other
    }

    It 'names every store searched when a job is in none of them' {
        $err = $null
        Get-ArcpJob -Store $script:Store, $script:Other -JobId job_missing -ErrorVariable err -ErrorAction SilentlyContinue
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'NOT_FOUND,*'
        "$err" | Should -BeLike "*$script:Store*"
        "$err" | Should -BeLike "*$script:Other*"
    }

    It 'reports a missing store once and still reads the others' {
        $missing = Join-Path $script:StoreDir 'typo.db'
        $err = $null
        $jobs = @(Get-ArcpJob -Store $missing, $script:Other -ErrorVariable err -ErrorAction SilentlyContinue)
        $jobs.JobId | Should -Be @($script:OtherJob.JobId)
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'NOT_FOUND,*'
        $missing | Should -Not -Exist
    }

    It 'refuses several stores where a command works on one' {
        { Get-ArcpCheckpoint -Store $script:Store, $script:Other -JobId $script:Job.JobId -ErrorAction Stop } |
            Should -Throw -ErrorId 'INVALID_ARGUMENT,*'
    }
}

# Start-ArcpRuntime -RetentionInterval: a hosted runtime applies retention on its own schedule.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module $env:ARCP_MODULE_PATH -Force
}

Describe 'Start-ArcpRuntime -RetentionInterval' {
    BeforeAll {
        $script:Folder = New-TestFolder -Prefix 'arcp-retention-schedule'
        $script:Store = Join-Path $script:Folder 'arcp.db'
        $script:Finished = Start-ArcpJob -Step ([ordered]@{ a = { 1 }; b = { 2 } }) -Store $script:Store
        $crash = Start-ChildPwsh -ScriptText @"
Import-Module '$($env:ARCP_MODULE_PATH)'
Start-ArcpJob -Step ([ordered]@{ a = { 1 }; b = { 2 } }) -Store '$script:Store' -OnCheckpoint { [Console]::Out.WriteLine(`$_.JobId); [Console]::Out.Flush(); [Environment]::Exit(137) }
"@
        $crash.ExitCode | Should -Be 137
        $script:InterruptedId = $crash.Output[-1]
    }

    AfterAll {
        Remove-TestFolder -Path $script:Folder
    }

    It 'removes finished jobs past their retention while serving, and keeps interrupted jobs and their checkpoints' {
        (Get-ArcpJob -JobId $script:Finished.JobId -Store $script:Store).State | Should -Be 'Completed'
        $host_ = Start-ChildPwsh -NoWait -TimeoutSeconds 120 -ScriptText @"
Import-Module '$($env:ARCP_MODULE_PATH)'
Start-ArcpRuntime -Listen ws://127.0.0.1:0/arcp -AllowAnonymous -Store '$script:Store' -RetentionInterval 00:00:01 -CompletedJobRetention 0 -EventRetention 30
"@
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            do {
                Start-Sleep -Milliseconds 250
                $remaining = @(Get-ArcpJob -Store $script:Store).JobId
            } while ($remaining -contains $script:Finished.JobId -and [DateTime]::UtcNow -lt $deadline)
        }
        finally {
            $host_.Process.Kill($true)
            $result = Wait-ChildPwsh -Handle $host_
        }

        $remaining | Should -Not -Contain $script:Finished.JobId -Because 'the completed job is past a zero retention'
        $remaining | Should -Contain $script:InterruptedId -Because 'retention never removes unfinished jobs'
        @(Get-ArcpCheckpoint -JobId $script:InterruptedId -Store $script:Store).Count | Should -Be 1
        $result.StdErr | Should -Match 'Retention: purged \d+ event\(s\) .* removed 1 finished job\(s\)'
    }

    It 'refuses a non-positive interval with INVALID_ARGUMENT before serving' {
        { Start-ArcpRuntime -Listen ws://127.0.0.1:0/arcp -AllowAnonymous -Store $script:Store -RetentionInterval 0 -ErrorAction Stop } |
            Should -Throw -ErrorId 'INVALID_ARGUMENT,Arcp.Resumability.PowerShell.Commands.StartArcpRuntimeCommand'
    }
}

# Workflow definition versions: every checkpoint records the version that produced it (a declared Version, else a
# content hash), and resuming with a different definition is FAILED_PRECONDITION unless -Force.

BeforeAll {
    if (-not $env:ARCP_MODULE_PATH) { throw 'ARCP_MODULE_PATH is not set; run the tests through ./build.ps1 test.' }
    Import-Module $env:ARCP_MODULE_PATH -Force
    $script:StoreDir = Join-Path ([IO.Path]::GetTempPath()) "arcp-versions-$([guid]::NewGuid().ToString('n'))"
    $null = New-Item -ItemType Directory -Path $script:StoreDir
    $script:Store = Join-Path $script:StoreDir 'arcp.db'

    # Starts a job that "crashes" after its first checkpoint and returns it (Interrupted).
    function Start-Interrupted([hashtable]$Parameters) {
        try { Start-ArcpJob -Store $script:Store @Parameters -OnCheckpoint { throw 'simulated crash' } } catch { $null = $_ }
        Get-ArcpJob -Store $script:Store -Name $Parameters.Name
    }

    function Set-Workflow([string]$Path, [string]$Version, [string]$Second) {
        $declared = if ($Version) { "Version = '$Version';" } else { '' }
        Set-Content -LiteralPath $Path -Value "@{ Name = 'versioned'; $declared Steps = [ordered]@{ first = { 1 }; second = { $Second } } }"
    }
}

AfterAll {
    Remove-Module Arcp.Resumability -ErrorAction SilentlyContinue
    Remove-Item -LiteralPath $script:StoreDir -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Workflow definition versions' {
    It 'records the declared version with each checkpoint' {
        $job = Start-ArcpJob -Store $script:Store research
        @(Get-ArcpCheckpoint -Store $script:Store -JobId $job.JobId).DefinitionVersion | Select-Object -Unique | Should -Be '1.1.0'
    }

    It 'records a content hash for inline steps and refuses changed steps unless -Force' {
        $job = Start-Interrupted @{ Name = 'inline-v'; Step = [ordered]@{ first = { 1 }; second = { $_ + 1 } } }
        $recorded = (Get-ArcpCheckpoint -Store $script:Store -JobId $job.JobId).DefinitionVersion
        $recorded | Should -Match '^sha256:[0-9a-f]{16}$'

        $changed = [ordered]@{ first = { 1 }; second = { $_ + 100 } }
        $out = $job | Resume-ArcpJob -Step $changed -ErrorVariable err -ErrorAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'FAILED_PRECONDITION,*'
        "$err" | Should -Match ([regex]::Escape($recorded))
        (Get-ArcpJob -Store $script:Store -JobId $job.JobId).State | Should -Be 'Interrupted'

        $forced = $job | Resume-ArcpJob -Step $changed -Force
        $forced.State | Should -Be 'Completed'
        $forced.Result | Should -Be 101
    }

    It 'resumes with the same inline steps' {
        $job = Start-Interrupted @{ Name = 'inline-same'; Step = [ordered]@{ first = { 1 }; second = { $_ + 1 } } }
        ($job | Resume-ArcpJob -Step ([ordered]@{ first = { 1 }; second = { $_ + 1 } })).Result | Should -Be 2
    }

    It 'treats an edited workflow file without a declared Version as a new version' {
        $path = Join-Path $script:StoreDir 'hashed.ps1'
        Set-Workflow $path '' "'old'"
        $job = Start-Interrupted @{ Name = 'file-hash'; Workflow = $path }
        Set-Workflow $path '' "'new'"
        $job | Resume-ArcpJob -Workflow $path -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'FAILED_PRECONDITION,*'
        ($job | Resume-ArcpJob -Workflow $path -Force).Result | Should -Be 'new'
    }

    It 'goes by the declared Version when the file declares one' {
        $path = Join-Path $script:StoreDir 'declared.ps1'
        Set-Workflow $path '1' "'one'"
        $job = Start-Interrupted @{ Name = 'file-declared'; Workflow = $path }
        Set-Workflow $path '1' "'edited, same version'"
        ($job | Resume-ArcpJob -Workflow $path).Result | Should -Be 'edited, same version'

        $other = Start-Interrupted @{ Name = 'file-declared-2'; Workflow = $path }
        Set-Workflow $path '2' "'two'"
        $other | Resume-ArcpJob -Workflow $path -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        "$err" | Should -Match "version '1'.*version '2'"
    }
}

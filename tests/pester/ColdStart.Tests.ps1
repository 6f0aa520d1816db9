# Issue 12, "a fast first job": what a new pwsh loads for a SQLite job, and that the built module is precompiled.
# The time itself is a benchmark figure (build.ps1 bench, part 2), never asserted here.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:Manifest = Get-ArcpModulePath
    $script:ModuleDir = Split-Path -Parent $script:Manifest

    function Test-ReadyToRunImage([string]$Path) {
        $stream = [IO.File]::OpenRead($Path)
        try {
            $headers = [Reflection.PortableExecutable.PEReader]::new($stream).PEHeaders
            [pscustomobject]@{
                Managed     = $null -ne $headers.CorHeader
                ReadyToRun  = $null -ne $headers.CorHeader -and $headers.CorHeader.ManagedNativeHeaderDirectory.Size -gt 0
                # crossgen2 clears ILOnly and sets ILLibrary on the images it writes.
                ILLibrary   = $null -ne $headers.CorHeader -and $headers.CorHeader.Flags.HasFlag([Reflection.PortableExecutable.CorFlags]::ILLibrary)
            }
        }
        finally { $stream.Dispose() }
    }
}

AfterAll { Remove-TestFolder }

Describe 'Cold start: the first job in a new pwsh' -Tag 'ColdStart' {
    It 'runs a SQLite job without loading Npgsql (or anything else of PostgreSQL), nor Polly for steps and requests that need no retry' {
        $store = New-TestStore
        $command = Get-ChildPwshCommand
        $script = @"
`$ErrorActionPreference = 'Stop'
Import-Module '$($script:Manifest -replace "'", "''")'
`$job = Start-ArcpJob -Step ([ordered]@{ a = { 1 }; b = { 2 } }) -Store '$($store -replace "'", "''")'
[Console]::Out.WriteLine("state=`$(`$job.State)")
[Console]::Out.WriteLine("loaded=" + ((`[AppDomain]::CurrentDomain.GetAssemblies() | ForEach-Object { `$_.GetName().Name }) -join ','))
"@
        $output = & $command.FilePath @($command.Prefix) -NoProfile -NonInteractive -Command $script 2>&1
        $LASTEXITCODE | Should -Be 0 -Because ($output -join "`n")
        $output | Should -Contain 'state=Completed'
        $loaded = (($output | Where-Object { "$_" -like 'loaded=*' }) -replace '^loaded=', '') -split ','
        $loaded | Should -Contain 'Arcp.Resumability.Core' -Because 'the listing must be of the process that ran the job'
        $loaded | Should -Contain 'Microsoft.Data.Sqlite'
        @($loaded | Where-Object { $_ -like 'Npgsql*' }) | Should -BeNullOrEmpty
        # The client enters its throttle-retry pipeline only after a refusal, and a step without MaxAttempts or Timeout
        # runs without one: a first job would otherwise load Polly and the validation of its options.
        @($loaded | Where-Object { $_ -like 'Polly*' -or $_ -eq 'System.ComponentModel.Annotations' }) | Should -BeNullOrEmpty
    }

    It 'processes no type data file on import (ArcpJob.Duration and ArcpEvent.Id are members of the classes, Conventions.Tests.ps1)' {
        # A Types.ps1xml cost about 10 ms of every Import-Module (XML read, type table update) for two members.
        $manifest = Import-PowerShellDataFile -LiteralPath $script:Manifest
        $manifest.Keys | Should -Not -Contain 'TypesToProcess'
    }

    It 'ships every managed assembly of the module folder as a ReadyToRun image' {
        $assemblies = @(Get-ChildItem -LiteralPath $script:ModuleDir -Filter '*.dll' -File)
        $assemblies.Name | Should -Contain 'Arcp.Resumability.Core.dll'
        foreach ($assembly in $assemblies) {
            $image = Test-ReadyToRunImage $assembly.FullName
            $image.Managed | Should -BeTrue -Because "$($assembly.Name) is a managed assembly"
            $image.ReadyToRun | Should -BeTrue -Because "build.ps1 compiles $($assembly.Name) ahead of time"
            $image.ILLibrary | Should -BeTrue -Because "$($assembly.Name) is a ReadyToRun image"
        }
    }
}

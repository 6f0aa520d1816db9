<#
.SYNOPSIS
    Build, test, demo and benchmark entry point for Arcp.Resumability.

.DESCRIPTION
    Run with the pinned PowerShell from the local tool manifest:

        dotnet tool restore
        dotnet pwsh ./build.ps1 build                 # publish the module folder to out/Arcp.Resumability
        dotnet pwsh ./build.ps1 test                  # build, xunit (TRX) + Pester (child process), summary
        dotnet pwsh ./build.ps1 test -Filter 'FullyQualifiedName~Store' -PesterPath tests/pester/Smoke.Tests.ps1
        dotnet pwsh ./build.ps1 demo                  # runs examples/resumability/demo.ps1 (builds only if an input changed)
        dotnet pwsh ./build.ps1 pack                  # build, then .artifacts/pack/Arcp.Resumability.<version>.nupkg
        dotnet pwsh ./build.ps1 bench --iterations 5  # remaining arguments go to the benchmark
        dotnet pwsh ./build.ps1 bench --long          # long run: fleet 10 rounds of 200 jobs, memory at 1,000/100,000 steps
        dotnet pwsh -c './build.ps1 bench -- -n 5'    # a bare `--` only works in -Command mode (pwsh -File rejects it)
        dotnet pwsh ./build.ps1 clean                 # removes out/ and .artifacts/
        dotnet pwsh ./build.ps1 chaos -Store postgres -Rounds 5 -Workers 3   # kill -9 chaos run (docs/reliability.md)
        dotnet pwsh ./build.ps1 fuzz                                    # 10,000 malformed frames per transport (docs/security.md)

    Task 'test' always ends with exactly one line "N passed, N failed, N skipped" (xunit + Pester)
    and exits 1 if anything failed, if a runner crashed or produced no result file (counted as one
    failure), or if the build failed (counted as one failure); otherwise it exits 0.
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('build', 'test', 'demo', 'bench', 'pack', 'clean', 'chaos', 'fuzz')]
    [string]$Task = 'build',

    [string]$Configuration = 'Release',

    # Passed to `dotnet test --filter` (task 'test').
    [string]$Filter,

    # Pester files/folders to run (task 'test'); default: tests/pester. Comma-separated values are split,
    # because `pwsh -File` passes `-PesterPath a,b` as the single string 'a,b'.
    [string[]]$PesterPath,

    # Chaos run (task 'chaos', tests/chaos/Invoke-ChaosRun.ps1): rounds, store kind, worker processes, kills per round.
    [ValidateRange(1, 100000)][int]$Rounds = 1,
    [ValidateSet('sqlite', 'postgres')][string]$Store = 'sqlite',
    [ValidateRange(1, 32)][int]$Workers = 3,
    [ValidateRange(0, 100000)][int]$KillsPerRound = 15,

    # Extra arguments for the benchmark (task 'bench'). Under `pwsh -File`, arguments starting with a single
    # dash are taken as build.ps1 parameter names; `--long-options` and plain values pass through.
    [Parameter(ValueFromRemainingArguments)]
    [string[]]$ExtraArgs
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
# Exit codes are checked explicitly after every dotnet call (dotnet test returns 1 for failing tests).
$PSNativeCommandUseErrorActionPreference = $false
# No ANSI escapes in CI logs (error records are otherwise rendered in colour even when redirected).
if ($env:CI -or [Console]::IsOutputRedirected -or [Console]::IsErrorRedirected) { $PSStyle.OutputRendering = 'PlainText' }

$Root = $PSScriptRoot
$CallerDir = (Get-Location).ProviderPath   # relative -PesterPath values are resolved against this

$ModuleProject = Join-Path $Root 'src/Arcp.Resumability/Arcp.Resumability.csproj'
$ModuleDir = Join-Path $Root 'out/Arcp.Resumability'
$ModuleManifest = Join-Path $ModuleDir 'Arcp.Resumability.psd1'
$TestProject = Join-Path $Root 'tests/Arcp.Resumability.Tests'
$ToolsProject = Join-Path $Root 'tests/tools/Tools.csproj'
$PesterRunner = Join-Path $Root 'tests/run-pester.ps1'
$ArtifactsDir = Join-Path $Root '.artifacts'
$TestResultsDir = Join-Path $ArtifactsDir 'test'
$BenchProject = Join-Path $Root 'bench/Arcp.Resumability.Bench/Arcp.Resumability.Bench.csproj'
$ChaosRunner = Join-Path $Root 'tests/chaos/Invoke-ChaosRun.ps1'
# One version for the whole tree: the PesterVersion property of Directory.Packages.props (tests/tools/Tools.csproj downloads it).
$PesterVersion = ([xml](Get-Content -LiteralPath (Join-Path $Root 'Directory.Packages.props') -Raw)).SelectSingleNode('/Project/PropertyGroup/PesterVersion')?.InnerText
if (-not $PesterVersion) { throw 'Directory.Packages.props sets no PesterVersion.' }
$VersionProps = Join-Path $Root 'Directory.Build.props'
$Changelog = Join-Path $Root 'CHANGELOG.md'
# Written after a successful build: a hash of every build input, so `demo` can skip an unchanged build.
$BuildStamp = Join-Path $Root 'out/Arcp.Resumability.build-stamp'
$PackDir = Join-Path $ArtifactsDir 'pack'
# Native SQLite ships for these platforms only (README "Supported platforms"); the package drops the others.
$SupportedRuntimes = @('linux-x64', 'linux-arm64', 'linux-musl-x64', 'win-x64', 'win-arm64', 'osx-x64', 'osx-arm64')

function Write-Step([string]$Message) {
    Write-Host ''
    Write-Host "==> $Message"
}

# Runs dotnet with the given arguments, streaming its output to the console (never into the
# pipeline), and returns nothing. Throws with a clear message on a non-zero exit code unless
# -AllowFailure is given; the exit code is then left in $global:LASTEXITCODE.
function Invoke-Dotnet {
    param(
        [Parameter(Mandatory)][string]$What,
        [Parameter(Mandatory)][string[]]$Arguments,
        [switch]$AllowFailure
    )
    Write-Host "dotnet $($Arguments -join ' ')"
    & dotnet @Arguments | Out-Host
    $code = $LASTEXITCODE
    if ($code -ne 0 -and -not $AllowFailure) {
        throw "$What failed: 'dotnet $($Arguments[0])' exited with code $code."
    }
}

function Remove-Folder([string]$Path) {
    if (Test-Path -LiteralPath $Path) { Remove-Item -LiteralPath $Path -Recurse -Force }
}

function Invoke-BuildTask {
    $started = [Diagnostics.Stopwatch]::StartNew()
    Write-Step "Publishing module ($Configuration) to $ModuleDir"
    Remove-Folder $ModuleDir
    if (Test-Path -LiteralPath $BuildStamp) { Remove-Item -LiteralPath $BuildStamp -Force }
    # Minimal verbosity: one line per project as it finishes, so a first build is not half a minute of silence.
    Invoke-Dotnet -What 'Module publish' -Arguments @(
        'publish', $ModuleProject, '-c', $Configuration, '-o', $ModuleDir, '-nologo', '-v:m', '-clp:NoSummary')
    Write-Step 'Compiling the module to ReadyToRun code for this platform (a faster first job in a new pwsh)'
    & (Join-Path $Root 'tools/Invoke-ReadyToRun.ps1') -ModuleDir $ModuleDir
    Write-Step 'Generating MAML help from docs/help'
    # MAML help from the compiled cmdlets plus docs/help, in a child pwsh so the DLL never loads here.
    Invoke-Dotnet -What 'Help generation' -Arguments @(
        'pwsh', '-NoProfile', '-NonInteractive', '-File', (Join-Path $Root 'tools/New-MamlHelp.ps1'),
        '-ModuleManifest', $ModuleManifest, '-HelpSource', (Join-Path $Root 'docs/help'))
    foreach ($file in 'Arcp.Resumability.psd1', 'Arcp.Resumability.dll', 'en-US/Arcp.Resumability.dll-Help.xml', 'en-US/about_Arcp_Resumability.help.txt') {
        if (-not (Test-Path -LiteralPath (Join-Path $ModuleDir $file) -PathType Leaf)) {
            throw "Module publish produced no $file in $ModuleDir."
        }
    }
    Set-ModuleManifestRelease -Path $ModuleManifest
    Copy-Item -LiteralPath (Join-Path $Root 'LICENSE') -Destination $ModuleDir
    [IO.File]::WriteAllText($BuildStamp, (Get-BuildInputHash))
    Write-Host ("Module folder: $ModuleDir ($(@(Get-ChildItem -LiteralPath $ModuleDir -Recurse -File).Count) files), built in {0:n0}s" -f $started.Elapsed.TotalSeconds)
}

# The version from its one place, Directory.Build.props <Version> (the assemblies get it from there too).
function Get-ProjectVersion {
    $version = ([xml](Get-Content -LiteralPath $VersionProps -Raw)).SelectSingleNode('/Project/PropertyGroup/Version')?.InnerText
    if (-not $version -or -not ($version -as [version])) { throw "Directory.Build.props has no <Version> of the form 1.2.3 (found '$version')." }
    [string]$version
}

# The CHANGELOG.md section "## [<version>] ..." up to the next "## " heading, without its heading.
function Get-ReleaseNote([string]$Version) {
    $lines = @(Get-Content -LiteralPath $Changelog)
    $start = [array]::FindIndex([string[]]$lines, [Predicate[string]] { param($l) $l -match "^## \[$([regex]::Escape($Version))\]" })
    if ($start -lt 0) { throw "CHANGELOG.md has no '## [$Version]' section; add one before building version $Version." }
    $body = @($lines | Select-Object -Skip ($start + 1) | ForEach-Object -Begin { $done = $false } -Process {
            if ($_ -match '^## ') { $done = $true }
            if (-not $done) { $_ }
        })
    $text = ($body -join "`n").Trim()
    if (-not $text) { throw "CHANGELOG.md section '## [$Version]' is empty." }
    if ($text -match "(?m)^'@") { throw "CHANGELOG.md section '## [$Version]' has a line starting with '@, which cannot go into the manifest." }
    $text
}

# Stamps the published manifest with the version and that version's release notes.
function Set-ModuleManifestRelease([string]$Path) {
    $version = Get-ProjectVersion
    $notes = Get-ReleaseNote $version
    $text = Get-Content -LiteralPath $Path -Raw
    $text = [regex]::Replace($text, "(?m)^(\s*ModuleVersion\s*=\s*)'[^']*'", "`${1}'$version'")
    # The source manifest carries placeholder notes for unbuilt checkouts; the stamped ones replace them.
    $text = [regex]::Replace($text, "(?m)^\s*ReleaseNotes\s*=\s*'[^']*'\r?\n", '')
    $text = [regex]::Replace($text, "(?m)^(\s*)(ProjectUri\s*=.*)$", { param($m) "$($m.Groups[1].Value)$($m.Groups[2].Value)`n$($m.Groups[1].Value)ReleaseNotes = @'`n$notes`n'@" })
    [IO.File]::WriteAllText($Path, $text, [Text.UTF8Encoding]::new($false))
    $data = Import-PowerShellDataFile -LiteralPath $Path
    if ($data.ModuleVersion -ne $version -or -not $data.PrivateData.PSData.ReleaseNotes) {
        throw "Could not stamp version $version and its release notes into $Path."
    }
    Write-Host "Manifest: version $version, release notes from CHANGELOG.md"
}

# A hash of every file the module folder is built from (sources, help, manifest, version, changelog, tools).
function Get-BuildInputHash {
    $inputs = @(
        Get-ChildItem -LiteralPath (Join-Path $Root 'src'), (Join-Path $Root 'docs/help') -Recurse -File |
            Where-Object { $_.FullName -notmatch '[\\/](bin|obj)[\\/]' }
        Get-Item -LiteralPath (Join-Path $Root 'Arcp.Resumability.psd1'), $VersionProps, $Changelog, (Join-Path $Root 'LICENSE'),
            (Join-Path $Root 'tools/New-MamlHelp.ps1'), $PSCommandPath
        foreach ($optional in 'Directory.Packages.props', 'global.json', 'nuget.config') {
            $path = Join-Path $Root $optional
            if (Test-Path -LiteralPath $path -PathType Leaf) { Get-Item -LiteralPath $path }
        }
    ) | Sort-Object FullName
    $lines = foreach ($file in $inputs) {
        "$([IO.Path]::GetRelativePath($Root, $file.FullName)) $((Get-FileHash -LiteralPath $file.FullName -Algorithm SHA256).Hash)"
    }
    $bytes = [Text.Encoding]::UTF8.GetBytes("$Configuration`n$($lines -join "`n")")
    [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData($bytes))
}

# Builds unless out/ was built from exactly the current inputs (used by 'demo'; 'build' always rebuilds).
function Invoke-BuildIfChanged {
    Write-Step 'Checking whether the module is up to date'
    if ((Test-Path -LiteralPath $BuildStamp -PathType Leaf) -and (Test-Path -LiteralPath $ModuleManifest -PathType Leaf) -and
        ([IO.File]::ReadAllText($BuildStamp).Trim() -eq (Get-BuildInputHash))) {
        Write-Host "Up to date: $ModuleDir was built from the current sources (./build.ps1 build forces a rebuild)."
        return
    }
    Write-Host 'Sources changed since the last build (or no build yet): building; a first build takes about half a minute.'
    Invoke-BuildTask
}

# Builds, then packs the module as a PSResourceGet package (.nupkg) in .artifacts/pack: only the supported
# platforms' native SQLite, no .pdb or deps.json.
function Invoke-PackTask {
    Invoke-BuildTask
    $null = New-ModulePackage
}

# Packs the built module folder (out/) into .artifacts/pack/Arcp.Resumability.<version>.nupkg and returns its path.
function New-ModulePackage {
    $version = Get-ProjectVersion
    Write-Step "Packing Arcp.Resumability $version"
    $stage = Join-Path $PackDir 'stage/Arcp.Resumability'
    Remove-Folder (Join-Path $PackDir 'stage')
    $null = New-Item -ItemType Directory -Force -Path $stage
    $null = Copy-Item -Path (Join-Path $ModuleDir '*') -Destination $stage -Recurse
    Get-ChildItem -LiteralPath $stage -Recurse -File -Include '*.pdb', '*.deps.json' | Remove-Item -Force
    $runtimes = Join-Path $stage 'runtimes'
    if (Test-Path -LiteralPath $runtimes) {
        Get-ChildItem -LiteralPath $runtimes -Directory | Where-Object Name -NotIn $SupportedRuntimes | Remove-Item -Recurse -Force
        $missing = @($SupportedRuntimes | Where-Object { -not (Get-ChildItem -LiteralPath (Join-Path $runtimes "$_/native") -File -ErrorAction SilentlyContinue) })
        if ($missing) { throw "The published module has no native SQLite for: $($missing -join ', ')." }
    }
    $package = Join-Path $PackDir "Arcp.Resumability.$version.nupkg"
    Get-ChildItem -LiteralPath $PackDir -Filter 'Arcp.Resumability.*.nupkg' -File | Remove-Item -Force
    Import-Module Microsoft.PowerShell.PSResourceGet -ErrorAction Stop
    Compress-PSResource -Path $stage -DestinationPath $PackDir
    if (-not (Test-Path -LiteralPath $package -PathType Leaf)) { throw "Compress-PSResource wrote no $package." }
    Remove-Folder (Join-Path $PackDir 'stage')
    $size = (Get-Item -LiteralPath $package).Length
    $zip = [IO.Compression.ZipFile]::OpenRead($package)
    try { $entries = $zip.Entries.Count } finally { $zip.Dispose() }
    Write-Host ("Package: {0} ({1:n0} KB, {2} files)" -f $package, ($size / 1KB), $entries)
    Write-Host "Install it from a local folder repository:"
    Write-Host "  Register-PSResourceRepository -Name ArcpLocal -Uri '$PackDir' -Trusted"
    Write-Host "  Install-PSResource -Name Arcp.Resumability -Repository ArcpLocal"
    $package
}

function Get-NuGetGlobalPackagesFolder {
    # `dotnet nuget locals` honours NUGET_PACKAGES and nuget.config; fall back to the variable itself.
    $lines = & dotnet nuget locals global-packages --list 2>$null
    $code = $LASTEXITCODE
    if ($code -eq 0) {
        foreach ($line in @($lines)) {
            if ($line -match '^\s*global-packages:\s*(.+?)\s*$') { return $Matches[1] }
        }
    }
    if ($env:NUGET_PACKAGES) { return $env:NUGET_PACKAGES }
    throw "Could not determine the NuGet global packages folder ('dotnet nuget locals global-packages --list' exited with $code)."
}

# xunit through dotnet test + TRX. Returns a result object; never throws for test failures.
function Invoke-XunitTests {
    $trxName = 'xunit.trx'
    $trxPath = Join-Path $TestResultsDir $trxName
    if (Test-Path -LiteralPath $trxPath) { Remove-Item -LiteralPath $trxPath -Force }

    Write-Step "xunit: dotnet test $TestProject ($Configuration)"
    $testArgs = @('test', $TestProject, '-c', $Configuration, '-nologo',
        '--logger', "trx;LogFileName=$trxName", '--logger', 'console;verbosity=normal',
        '--results-directory', $TestResultsDir)
    if ($Filter) { $testArgs += @('--filter', $Filter) }
    Invoke-Dotnet -What 'xunit' -Arguments $testArgs -AllowFailure
    $exitCode = $LASTEXITCODE

    $result = [pscustomobject]@{
        Name = 'xunit'; Ok = $false; Total = 0; Passed = 0; Failed = 0; Skipped = 0
        Failures = [System.Collections.Generic.List[object]]::new(); Problem = $null
    }
    if (-not (Test-Path -LiteralPath $trxPath -PathType Leaf)) {
        $result.Problem = "dotnet test (exit code $exitCode) produced no TRX file at $trxPath (build error or test host crash; see the output above)."
        return $result
    }

    try {
        [xml]$trx = Get-Content -LiteralPath $trxPath -Raw
        $ns = [System.Xml.XmlNamespaceManager]::new($trx.NameTable)
        $ns.AddNamespace('t', 'http://microsoft.com/schemas/VisualStudio/TeamTest/2010')
        $summary = $trx.SelectSingleNode('/t:TestRun/t:ResultSummary', $ns)
        $counters = $trx.SelectSingleNode('/t:TestRun/t:ResultSummary/t:Counters', $ns)
        if ($null -eq $counters) { throw 'no <Counters> element' }
        $n = { param($attr) $v = $counters.GetAttribute($attr); if ($v) { [int]$v } else { 0 } }

        $result.Total = & $n 'total'
        $result.Passed = & $n 'passed'
        # error/timeout/aborted outcomes are failures too.
        $result.Failed = (& $n 'failed') + (& $n 'error') + (& $n 'timeout') + (& $n 'aborted')
        # Known TRX quirk: skipped xunit tests get outcome="NotExecuted" on their UnitTestResult but the
        # notExecuted counter stays 0 (they only show as total - executed), so take the larger figure.
        $notExecutedResults = @($trx.SelectNodes('//t:Results/t:UnitTestResult[@outcome="NotExecuted"]', $ns)).Count
        $result.Skipped = [Math]::Max((& $n 'notExecuted'), $notExecutedResults)

        foreach ($r in @($trx.SelectNodes('//t:Results/t:UnitTestResult', $ns))) {
            if ($r.GetAttribute('outcome') -in 'Failed', 'Error', 'Timeout', 'Aborted') {
                $message = $r.SelectSingleNode('t:Output/t:ErrorInfo/t:Message', $ns)
                $stack = $r.SelectSingleNode('t:Output/t:ErrorInfo/t:StackTrace', $ns)
                $text = if ($message) { $message.InnerText.Trim() } else { "(outcome $($r.GetAttribute('outcome')), no message)" }
                if ($stack -and $stack.InnerText.Trim()) {
                    $firstFrame = ($stack.InnerText.Trim() -split "`r?`n" | Select-Object -First 1).Trim()
                    $text = "$text ($firstFrame)"
                }
                $result.Failures.Add([pscustomobject]@{ Name = $r.GetAttribute('testName'); Message = $text })
            }
        }

        # A test host crash leaves a RunInfo "The active test run was aborted. Reason: Test host process
        # crashed ..." (xunit also logs every [FAIL] as an Error RunInfo, so match the text, not the outcome).
        $outcome = if ($summary) { $summary.GetAttribute('outcome') } else { '' }
        $runErrors = @($trx.SelectNodes('/t:TestRun/t:ResultSummary/t:RunInfos/t:RunInfo/t:Text', $ns) |
                ForEach-Object { $_.InnerText.Trim() } |
                Where-Object { $_ -match 'test run was aborted|Test host process crashed|Test Run Aborted' } |
                ForEach-Object { ($_ -split "`r?`n" | Select-Object -First 2) -join ' ' })
        if ($runErrors.Count -gt 0) {
            $result.Problem = "the test run was aborted (TRX outcome '$outcome'): $($runErrors -join ' | ')"
        }
        elseif ($exitCode -ne 0 -and $result.Failed -eq 0) {
            $result.Problem = "dotnet test exited with code $exitCode although the TRX reports no failed test."
        }
        else {
            $result.Ok = $true
        }
    }
    catch {
        $result.Problem = "could not read TRX file ${trxPath}: $($_.Exception.Message)"
    }
    return $result
}

# Pester in a child pwsh process. Returns a result object; never throws for test failures.
function Invoke-PesterTests {
    param([string]$Package)
    $result = [pscustomobject]@{
        Name = 'Pester'; Ok = $false; Total = 0; Passed = 0; Failed = 0; Skipped = 0
        Failures = [System.Collections.Generic.List[object]]::new(); Problem = $null
    }

    $paths = if ($PesterPath) {
        @($PesterPath | ForEach-Object { $_ -split ',' } | ForEach-Object { $_.Trim() } | Where-Object { $_ } |
                ForEach-Object { [IO.Path]::GetFullPath($_, $CallerDir) })
    }
    else { @(Join-Path $Root 'tests/pester') }
    foreach ($p in $paths) {
        if (-not (Test-Path -LiteralPath $p)) {
            $result.Problem = "Pester path not found: $p"
            return $result
        }
    }
    $testFiles = @($paths | ForEach-Object {
            if (Test-Path -LiteralPath $_ -PathType Leaf) { Get-Item -LiteralPath $_ }
            else { Get-ChildItem -LiteralPath $_ -Recurse -File -Filter '*.Tests.ps1' }
        })
    if ($testFiles.Count -eq 0) {
        Write-Step "Pester: no *.Tests.ps1 files under $($paths -join ', '); nothing to run"
        $result.Ok = $true
        return $result
    }

    Write-Step 'Pester: restoring test tools (tests/tools/Tools.csproj)'
    try {
        Invoke-Dotnet -What 'Test tools restore' -Arguments @('restore', $ToolsProject, '-nologo', '-v:q')
        $pesterModule = Join-Path (Get-NuGetGlobalPackagesFolder) "pester/$PesterVersion/tools/Pester.psd1"
        if (-not (Test-Path -LiteralPath $pesterModule -PathType Leaf)) {
            throw "Pester $PesterVersion not found at $pesterModule after restoring $ToolsProject."
        }
    }
    catch {
        $result.Problem = $_.Exception.Message
        return $result
    }

    $resultFile = Join-Path $TestResultsDir 'pester.json'
    if (Test-Path -LiteralPath $resultFile) { Remove-Item -LiteralPath $resultFile -Force }
    $null = New-Item -ItemType Directory -Force -Path $TestResultsDir

    Write-Step "Pester: $($testFiles.Count) file(s) in a child process"
    $previousModulePath = $env:ARCP_MODULE_PATH
    $previousPackage = $env:ARCP_PACKAGE_PATH
    $env:ARCP_MODULE_PATH = $ModuleManifest
    $env:ARCP_PACKAGE_PATH = $Package
    try {
        Invoke-Dotnet -What 'Pester' -AllowFailure -Arguments @(
            'pwsh', '-NoProfile', '-NonInteractive', '-File', $PesterRunner,
            '-PesterModule', $pesterModule,
            '-TestPath', ($paths -join [IO.Path]::PathSeparator),
            '-ResultFile', $resultFile)
        $exitCode = $LASTEXITCODE
    }
    finally {
        $env:ARCP_MODULE_PATH = $previousModulePath
        $env:ARCP_PACKAGE_PATH = $previousPackage
    }

    if (-not (Test-Path -LiteralPath $resultFile -PathType Leaf)) {
        $result.Problem = "Pester child process (exit code $exitCode) wrote no result file at $resultFile (see the output above)."
        return $result
    }
    try {
        $json = Get-Content -LiteralPath $resultFile -Raw | ConvertFrom-Json
        $result.Passed = [int]$json.passed
        $result.Failed = [int]$json.failed
        $result.Skipped = [int]$json.skipped + [int]$json.inconclusive
        $result.Total = $result.Passed + $result.Failed + $result.Skipped + [int]$json.notRun
        foreach ($f in @($json.failedTests)) {
            if ($null -ne $f) { $result.Failures.Add([pscustomobject]@{ Name = $f.name; Message = $f.message }) }
        }
        $result.Ok = $true
    }
    catch {
        $result.Problem = "could not read Pester result file ${resultFile}: $($_.Exception.Message)"
    }
    return $result
}

function Invoke-TestTask {
    $started = [Diagnostics.Stopwatch]::StartNew()
    $results = [System.Collections.Generic.List[object]]::new()
    $buildProblem = $null
    $package = $null
    try {
        Invoke-BuildTask
        # Package.Tests.ps1 installs this package with Install-PSResource, as an operator would.
        $package = New-ModulePackage
    }
    catch {
        $buildProblem = $_.Exception.Message
    }

    if ($null -eq $buildProblem) {
        $null = New-Item -ItemType Directory -Force -Path $TestResultsDir
        $results.Add((Invoke-XunitTests))
        $results.Add((Invoke-PesterTests -Package $package))
    }

    $passed = 0; $failed = 0; $skipped = 0
    Write-Host ''
    Write-Host '==> Test summary'
    if ($buildProblem) {
        Write-Host "build: FAILED - $buildProblem (counted as 1 failure; no tests were run)"
        $failed++
    }
    foreach ($r in $results) {
        if ($r.Problem) {
            Write-Host "$($r.Name): NO USABLE RESULT - $($r.Problem) (counted as 1 failure)"
            $failed++
        }
        $notRun = $r.Total - $r.Passed - $r.Failed - $r.Skipped
        Write-Host ("{0}: {1} total, {2} passed, {3} failed, {4} skipped{5}" -f $r.Name, $r.Total, $r.Passed, $r.Failed, $r.Skipped,
            $(if ($notRun -gt 0) { ", $notRun not run (filtered)" } else { '' }))
        if ($r.Name -eq 'xunit' -and -not $r.Problem -and $r.Total -eq 0) {
            Write-Host "xunit: WARNING - no tests were found$(if ($Filter) { " for filter '$Filter'" })."
        }
        $passed += $r.Passed; $failed += $r.Failed; $skipped += $r.Skipped
    }
    $allFailures = @($results | ForEach-Object { foreach ($f in $_.Failures) { [pscustomobject]@{ Suite = $_.Name; Name = $f.Name; Message = $f.Message } } })
    if ($allFailures.Count -gt 0) {
        Write-Host ''
        Write-Host "==> Failures ($($allFailures.Count))"
        foreach ($f in $allFailures) {
            Write-Host "[$($f.Suite)] $($f.Name)"
            foreach ($line in ([string]$f.Message -split "`r?`n")) { Write-Host "    $line" }
        }
    }
    Write-Host ''
    Write-Host ("Elapsed: {0:n1}s; results in {1}" -f $started.Elapsed.TotalSeconds, $TestResultsDir)
    # Must stay the very last line of output.
    Write-Host "$passed passed, $failed failed, $skipped skipped"
    if ($failed -gt 0) { exit 1 }
    exit 0
}

if ($ExtraArgs -and $Task -ne 'bench') {
    throw "Unexpected argument(s) for task '${Task}': $($ExtraArgs -join ' ') (only 'bench' takes extra arguments)."
}

Push-Location -LiteralPath $Root
try {
    switch ($Task) {
        'build' {
            Invoke-BuildTask
        }
        'test' {
            Invoke-TestTask
        }
        'demo' {
            $demo = Join-Path $Root 'examples/resumability/demo.ps1'
            if (-not (Test-Path -LiteralPath $demo -PathType Leaf)) { throw 'examples/resumability/demo.ps1 not found' }
            Invoke-BuildIfChanged
            Write-Step 'Running examples/resumability/demo.ps1'
            $global:LASTEXITCODE = 0
            & $demo -ModulePath (Join-Path $Root 'out/Arcp.Resumability/Arcp.Resumability.psd1')
            if ($LASTEXITCODE -ne 0) { Write-Host "demo.ps1 exited with code $LASTEXITCODE"; exit $LASTEXITCODE }
        }
        'bench' {
            if (-not (Test-Path -LiteralPath $BenchProject -PathType Leaf)) {
                throw "Benchmark project not found: $BenchProject (bench/Arcp.Resumability.Bench does not exist yet)."
            }
            Invoke-BuildTask
            Write-Step 'Benchmark'
            $benchArgs = @('run', '-c', 'Release', '--project', $BenchProject)
            if ($ExtraArgs) { $benchArgs += @('--') + @($ExtraArgs) }
            Invoke-Dotnet -What 'Benchmark' -Arguments $benchArgs
        }
        'chaos' {
            Invoke-BuildTask
            Write-Step "Chaos: $Rounds round(s) on $Store with $Workers worker(s), $KillsPerRound kill(s) a round"
            $null = New-Item -ItemType Directory -Force -Path $ArtifactsDir
            $previousModulePath = $env:ARCP_MODULE_PATH
            $env:ARCP_MODULE_PATH = $ModuleManifest
            try {
                Invoke-Dotnet -What 'Chaos run' -AllowFailure -Arguments @(
                    'pwsh', '-NoProfile', '-NonInteractive', '-File', $ChaosRunner,
                    '-Store', $Store, '-Rounds', $Rounds, '-Workers', $Workers, '-KillsPerRound', $KillsPerRound,
                    '-ResultFile', (Join-Path $ArtifactsDir "chaos-$Store.json"))
            }
            finally {
                $env:ARCP_MODULE_PATH = $previousModulePath
            }
            if ($LASTEXITCODE -ne 0) { Write-Host "chaos run exited with code $LASTEXITCODE"; exit $LASTEXITCODE }
        }
        'fuzz' {
            # Long frame fuzz (docs/security.md): 10,000 malformed frames per transport; ARCP_FUZZ_SEED reproduces a run.
            Invoke-BuildTask
            Write-Step 'Fuzz: 10,000 malformed frames per transport'
            $previousFrames = $env:ARCP_FUZZ_FRAMES
            $env:ARCP_FUZZ_FRAMES = '10000'
            try {
                Invoke-Dotnet -What 'Fuzz run' -Arguments @('test', $TestProject, '-c', $Configuration,
                    '--filter', 'FullyQualifiedName~FrameFuzzTests', '--logger', 'console;verbosity=normal')
            }
            finally {
                $env:ARCP_FUZZ_FRAMES = $previousFrames
            }
        }
        'pack' {
            Invoke-PackTask
        }
        'clean' {
            foreach ($dir in 'out', '.artifacts') {
                Remove-Folder (Join-Path $Root $dir)
                Write-Host "Removed $dir/"
            }
        }
    }
}
finally {
    Pop-Location
}

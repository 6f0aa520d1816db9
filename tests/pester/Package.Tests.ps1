# The module package as an operator gets it: build.ps1 packs out/ into a .nupkg (path in
# $env:ARCP_PACKAGE_PATH); PSResourceGet installs it from a local folder repository into a scratch
# module path, and a fresh pwsh whose PSModulePath is only that path imports it BY NAME and runs jobs.
# The PSResourceGet repository list (XDG_DATA_HOME) and the CurrentUser module folder (under HOME) are
# pointed at the scratch folder in the children, so the test never touches the user's own settings or modules.

BeforeDiscovery {
    $script:CanIsolate = -not $IsWindows   # HOME and XDG_DATA_HOME relocate PSResourceGet's data on Linux and macOS only
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:Package = $env:ARCP_PACKAGE_PATH
    if (-not $script:Package) { throw 'ARCP_PACKAGE_PATH is not set; run the tests through ./build.ps1 test (it packs the module first).' }
    if (-not (Test-Path -LiteralPath $script:Package -PathType Leaf)) { throw "ARCP_PACKAGE_PATH points at '$script:Package', which does not exist." }
    $script:Root = [IO.Path]::GetFullPath((Join-Path $PSScriptRoot '../..'))
    $script:Version = ([xml](Get-Content -LiteralPath (Join-Path $script:Root 'Directory.Build.props') -Raw)).SelectSingleNode('/Project/PropertyGroup/Version').InnerText
    $script:Supported = @('linux-x64', 'linux-arm64', 'linux-musl-x64', 'win-x64', 'win-arm64', 'osx-x64', 'osx-arm64')

    Add-Type -AssemblyName System.IO.Compression.FileSystem
    $zip = [IO.Compression.ZipFile]::OpenRead($script:Package)
    try { $script:Entries = @($zip.Entries | ForEach-Object { $_.FullName -replace '\\', '/' }) }
    finally { $zip.Dispose() }
}

AfterAll {
    Remove-TestFolder
}

Describe 'The package file' {
    It 'is named for the version in Directory.Build.props and stays small' {
        Split-Path -Leaf $script:Package | Should -Be "Arcp.Resumability.$script:Version.nupkg"
        (Get-Item -LiteralPath $script:Package).Length | Should -BeLessThan 10MB
    }

    It 'ships native SQLite for exactly the supported platforms' {
        $platforms = @($script:Entries | Where-Object { $_ -like 'runtimes/*' } | ForEach-Object { ($_ -split '/')[1] } | Sort-Object -Unique)
        $platforms | Should -Be ($script:Supported | Sort-Object)
        foreach ($rid in $script:Supported) {
            @($script:Entries | Where-Object { $_ -like "runtimes/$rid/native/*e_sqlite3*" }).Count | Should -Be 1 -Because "$rid needs its native SQLite"
        }
    }

    It 'has no debug symbols or build-only files' {
        # Top-level *.xml would be compiler documentation files; [Content_Types].xml is the package format's own.
        $script:Entries | Where-Object { $_ -match '\.(pdb|deps\.json)$|^[^/]+\.xml$' -and $_ -ne '[Content_Types].xml' } | Should -BeNullOrEmpty
    }

    It 'carries the manifest, the license, the help, the formats, the research workflow and its corpus' {
        foreach ($file in 'Arcp.Resumability.psd1', 'Arcp.Resumability.dll', 'Arcp.Resumability.Core.dll', 'LICENSE', 'en-US/Arcp.Resumability.dll-Help.xml',
            'en-US/about_Arcp_Resumability.help.txt', 'Arcp.Resumability.Format.ps1xml', 'Workflows/research.ps1') {
            $script:Entries | Should -Contain $file
        }
        @($script:Entries | Where-Object { $_ -like 'Corpus/*.md' }).Count | Should -BeGreaterThan 0 -Because 'the research workflow reads its default corpus from Corpus/'
    }
}

Describe 'Install-PSResource from a local folder repository' -Skip:(-not $script:CanIsolate) {
    BeforeAll {
        $script:Scratch = New-TestFolder -Prefix 'arcp-install'
        $repository = Join-Path $script:Scratch 'repository'
        $null = New-Item -ItemType Directory -Path $repository
        Copy-Item -LiteralPath $script:Package -Destination $repository
        $scratchHome = Join-Path $script:Scratch 'home'
        # The data folder must exist: .NET reports a missing one as '' and PSResourceGet would then write its
        # repository list relative to the current directory.
        $null = New-Item -ItemType Directory -Path (Join-Path $scratchHome '.local/share')
        $script:ModulePath = Join-Path $scratchHome '.local/share/powershell/Modules'
        $isolated = @{
            HOME = $scratchHome; XDG_DATA_HOME = (Join-Path $scratchHome '.local/share'); XDG_CONFIG_HOME = (Join-Path $scratchHome '.config'); XDG_CACHE_HOME = (Join-Path $scratchHome '.cache')
            PSModulePath = $null
        }

        $script:Install = Start-ChildPwsh -Environment $isolated -TimeoutSeconds 240 -ScriptText @"
`$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name ArcpScratch -Uri '$repository' -Trusted
# Refuse to install anywhere but the scratch home (the user's own module folder must stay untouched).
if ([Environment]::GetFolderPath('LocalApplicationData') -ne '$scratchHome/.local/share') { throw 'PSResourceGet would not keep its repository list in the scratch home.' }
`$userModules = (`$env:PSModulePath -split [IO.Path]::PathSeparator)[0]
if (-not `$userModules.StartsWith('$scratchHome')) { throw "The CurrentUser module path `$userModules is not under the scratch home." }
Install-PSResource -Name Arcp.Resumability -Repository ArcpScratch -Scope CurrentUser -TrustRepository
(Get-InstalledPSResource -Name Arcp.Resumability).InstalledLocation
"@
        $store = Join-Path $script:Scratch 'jobs.db'
        $environment = $isolated.Clone()
        $environment.PSModulePath = $script:ModulePath
        $environment.ARCP_STORE = $store
        $script:Run = Start-ChildPwsh -Environment $environment -TimeoutSeconds 240 -ScriptText @'
$ErrorActionPreference = 'Stop'
Import-Module Arcp.Resumability
$module = Get-Module Arcp.Resumability
$inline = Start-ArcpJob -Name installed -Step ([ordered]@{ one = { 20 }; two = { param($n) $n + 22 } })
$research = Start-ArcpJob -Workflow research -InputObject 'How do durable checkpoints make a job crash-proof?'
$online = try { Get-Help Start-ArcpJob -Online -ErrorAction Stop; 'opened' } catch { $_.FullyQualifiedErrorId + ' | ' + $_.Exception.Message }
[pscustomobject]@{
    ModuleBase     = $module.ModuleBase
    Version        = [string]$module.Version
    ReleaseNotes   = [string]$module.PrivateData.PSData.ReleaseNotes
    InlineState    = [string]$inline.State
    InlineResult   = $inline.Result
    ResearchState  = [string]$research.State
    ResearchReport = [string]$research.Result
    Synopsis       = (Get-Help Show-ArcpJob).Synopsis
    Timeline       = @($inline | Show-ArcpJob -Width 100)
    Online         = $online
} | ConvertTo-Json -Depth 4 -Compress
'@
        $script:Result = if ($script:Run.ExitCode -eq 0) { $script:Run.Output[-1] | ConvertFrom-Json }
    }

    It 'installs into the scratch module path' {
        $script:Install.ExitCode | Should -Be 0 -Because (Format-ChildResult $script:Install)
        $script:Install.Output[-1] | Should -BeLike "$script:ModulePath*"
        Join-Path $script:ModulePath "Arcp.Resumability/$script:Version/Arcp.Resumability.psd1" | Should -Exist
    }

    It 'imports by name from that path in a fresh pwsh and runs an inline job and the research workflow' {
        $script:Run.ExitCode | Should -Be 0 -Because (Format-ChildResult $script:Run)
        $script:Result.ModuleBase | Should -BeLike "$script:ModulePath*"
        $script:Result.Version | Should -Be $script:Version
        $script:Result.InlineState | Should -Be 'Completed'
        $script:Result.InlineResult | Should -Be 42
        $script:Result.ResearchState | Should -Be 'Completed'
        $script:Result.ResearchReport | Should -BeLike '# Research report: *'
    }

    It 'has help, release notes from CHANGELOG.md and the new cmdlets' {
        $script:Result.Synopsis | Should -BeLike 'Shows a job*timeline*'
        $script:Result.ReleaseNotes | Should -Not -BeNullOrEmpty
        $changelog = Get-Content -LiteralPath (Join-Path $script:Root 'CHANGELOG.md') -Raw
        $changelog | Should -Match "(?m)^## \[$([regex]::Escape($script:Version))\]"
        $changelog.Contains(($script:Result.ReleaseNotes -split "`n")[0]) | Should -BeTrue
        @($script:Result.Timeline | Where-Object { $_ -match '^(one|two)\s*│' }).Count | Should -Be 2
    }

    It 'fails Get-Help -Online clearly: no cmdlet declares an online help address' {
        $script:Result.Online | Should -Match '^InvalidOperation,Microsoft.PowerShell.Commands.GetHelpCommand \| .*URI'
    }
}

<#
.SYNOPSIS
    Compiles the managed assemblies of a published module folder to ReadyToRun code for this machine's platform, in place.
.DESCRIPTION
    A fresh pwsh otherwise JIT-compiles every method of the module, its core and SQLite on the first job (about 2,700
    methods for a five-step job). ReadyToRun images keep their IL, so they still load on any platform; there the code is
    simply JIT-compiled as before. The code is compiled against the framework and System.Management.Automation of the
    pwsh running this script, and is only used by a runtime of the same major version (see tools/ReadyToRun/ReadyToRun.csproj).
.EXAMPLE
    dotnet pwsh ./tools/Invoke-ReadyToRun.ps1 -ModuleDir ./out/Arcp.Resumability
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string]$ModuleDir
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$toolsProject = Join-Path $PSScriptRoot 'ReadyToRun/ReadyToRun.csproj'
$compilerVersion = ([xml](Get-Content -LiteralPath $toolsProject -Raw)).SelectSingleNode('/Project/PropertyGroup/ReadyToRunCompilerVersion')?.InnerText
if (-not ($compilerVersion -as [version])) { throw "$toolsProject sets no ReadyToRunCompilerVersion of the form 10.0.12." }
if (([version]$compilerVersion).Major -ne [Environment]::Version.Major) {
    throw "ReadyToRun compiler $compilerVersion cannot serve this pwsh, which runs on .NET $([Environment]::Version): a runtime ignores ReadyToRun code of another major version. Set ReadyToRunCompilerVersion in $toolsProject to a $([Environment]::Version.Major).0.x release."
}

$os = if ($IsWindows) { 'win' } elseif ($IsMacOS) { 'osx' } elseif ([Runtime.InteropServices.RuntimeInformation]::RuntimeIdentifier -like '*musl*') { 'linux-musl' } else { 'linux' }
$arch = "$([Runtime.InteropServices.RuntimeInformation]::OSArchitecture)".ToLowerInvariant()
$rid = "$os-$arch"
$targetOs = @{ win = 'windows'; osx = 'osx'; linux = 'linux'; 'linux-musl' = 'linux' }[$os]

& dotnet restore $toolsProject "-p:ReadyToRunHostRid=$rid" -nologo -v:q | Out-Host
if ($LASTEXITCODE -ne 0) { throw "Restoring the ReadyToRun compiler for $rid failed (dotnet restore exited with $LASTEXITCODE)." }
$packages = ((& dotnet nuget locals global-packages --list) -replace '^\s*global-packages:\s*', '').Trim()
if ($env:NUGET_PACKAGES) { $packages = $env:NUGET_PACKAGES }
$compiler = Join-Path $packages "microsoft.netcore.app.crossgen2.$rid/$compilerVersion/tools/crossgen2$(if ($IsWindows) { '.exe' })"
if (-not (Test-Path -LiteralPath $compiler -PathType Leaf)) { throw "The restored ReadyToRun compiler is missing at $compiler." }

# The references are what the module meets at run time: this runtime's framework and this pwsh's own assemblies.
$framework = [Runtime.InteropServices.RuntimeEnvironment]::GetRuntimeDirectory()
$references = @(
    "-r:$(Join-Path $framework '*.dll')",
    "-r:$(Join-Path $PSHOME 'System.Management.Automation.dll')",
    "-r:$(Join-Path $PSHOME 'Microsoft.PowerShell.*.dll')",
    "-r:$(Join-Path $ModuleDir '*.dll')")

function Test-ReadyToRun([string]$Path) {
    $stream = [IO.File]::OpenRead($Path)
    try {
        $corHeader = [Reflection.PortableExecutable.PEReader]::new($stream).PEHeaders.CorHeader
        $null -ne $corHeader -and $corHeader.ManagedNativeHeaderDirectory.Size -gt 0
    }
    finally { $stream.Dispose() }
}

$staging = Join-Path ([IO.Path]::GetTempPath()) "arcp-r2r-$([Guid]::NewGuid().ToString('n'))"
New-Item -ItemType Directory -Path $staging | Out-Null
try {
    foreach ($assembly in Get-ChildItem -LiteralPath $ModuleDir -Filter '*.dll' -File | Where-Object { -not (Test-ReadyToRun $_.FullName) }) {
        $output = Join-Path $staging $assembly.Name
        $log = & $compiler $assembly.FullName "-o:$output" @references "--targetos:$targetOs" "--targetarch:$arch" -O 2>&1
        if ($LASTEXITCODE -ne 0) { throw "ReadyToRun compilation of $($assembly.Name) failed (exit code $LASTEXITCODE): $($log -join [Environment]::NewLine)" }
    }
    # Replaced only once every assembly compiled, so a failure leaves the folder as published (IL only).
    Get-ChildItem -LiteralPath $staging -File | Copy-Item -Destination $ModuleDir -Force
}
finally {
    Remove-Item -LiteralPath $staging -Recurse -Force -ErrorAction SilentlyContinue
}

# Runs PowerShell scripts in a child pwsh (the same PowerShell as the tests) with the module under test,
# to play a second process: a job owner that crashes, or one that is still running.

# The one Get-ChildPwshCommand (TestHelpers.psm1): it also gives the child back the default SIGINT handling when
# this process ignores SIGINT. Only that function is imported: this file's Start-ChildPwsh is not TestHelpers'.
Import-Module (Join-Path $PSScriptRoot '..' 'TestHelpers.psm1') -Function Get-ChildPwshCommand

function New-ChildScript([string]$Folder, [string]$Body) {
    $path = Join-Path $Folder "child-$([guid]::NewGuid().ToString('n')).ps1"
    Set-Content -LiteralPath $path -Value "`$ErrorActionPreference = 'Stop'`nImport-Module '$env:ARCP_MODULE_PATH'`n$Body"
    return $path
}

# Runs the script to the end; returns its exit code and output.
function Invoke-ChildPwsh([string]$Folder, [string]$Body) {
    $command = Get-ChildPwshCommand
    $script = New-ChildScript $Folder $Body
    $prefix = $command.Prefix
    $output = & $command.FilePath @prefix -NoProfile -NonInteractive -File $script 2>&1
    [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = ($output | Out-String) }
}

# Starts the script and returns the process at once (stdout goes to <script>.out).
function Start-ChildPwsh([string]$Folder, [string]$Body) {
    $command = Get-ChildPwshCommand
    $script = New-ChildScript $Folder $Body
    Start-Process -FilePath $command.FilePath -ArgumentList (@($command.Prefix) + @('-NoProfile', '-NonInteractive', '-File', $script)) -PassThru `
        -RedirectStandardOutput "$script.out" -RedirectStandardError "$script.err"
}

# Waits until the file exists and has content (a writer creates it before writing), and returns the content.
function Wait-ForFile([string]$Path, [int]$TimeoutSeconds = 60) {
    $clock = [Diagnostics.Stopwatch]::StartNew()
    while ($true) {
        $text = if (Test-Path -LiteralPath $Path) { Get-Content -LiteralPath $Path -Raw -ErrorAction SilentlyContinue }
        if ($text -and $text.Trim()) { return $text.Trim() }
        if ($clock.Elapsed.TotalSeconds -gt $TimeoutSeconds) { throw "Timed out waiting for $Path" }
        Start-Sleep -Milliseconds 50
    }
}

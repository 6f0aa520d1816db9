# Shared helpers for the Pester suite: temp stores and folders, child pwsh processes, store snapshots and
# deep comparison of values that went through the module's JSON round trip.
#
# Import with: Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force

Set-StrictMode -Version Latest

$script:TempFolders = [System.Collections.Generic.List[string]]::new()

# Every research step, in order (the built-in workflow's contract).
$script:ResearchSteps = [string[]]@('plan', 'gather', 'synthesize', 'critique', 'finalize')

# The request main.ps1 uses by default; the crash/resume tests pass it explicitly.
$script:DefaultRequest = 'How do durable checkpoints and idempotency keys make long-running jobs crash-proof?'

function Get-ResearchStepName { $script:ResearchSteps }

function Get-DefaultResearchRequest { $script:DefaultRequest }

function Get-ArcpModulePath {
    <# The published module manifest under test (set by build.ps1 for tests/run-pester.ps1). #>
    $path = $env:ARCP_MODULE_PATH
    if (-not $path) { throw 'ARCP_MODULE_PATH is not set; run the tests through ./build.ps1 test.' }
    if (-not (Test-Path -LiteralPath $path -PathType Leaf)) { throw "ARCP_MODULE_PATH points at '$path', which does not exist; run ./build.ps1 build." }
    [IO.Path]::GetFullPath($path)
}

function Get-FixturePath([Parameter(Mandatory)][string]$Name) {
    $path = Join-Path $PSScriptRoot "Fixtures/$Name"
    if (-not (Test-Path -LiteralPath $path -PathType Leaf)) { throw "Test fixture not found: $path" }
    $path
}

function New-TestFolder {
    <# A fresh, empty temp folder, removed by Remove-TestFolder. #>
    param([string]$Prefix = 'arcp-pester')
    $path = Join-Path ([IO.Path]::GetTempPath()) "$Prefix-$([Guid]::NewGuid().ToString('N'))"
    $null = New-Item -ItemType Directory -Path $path -Force
    $script:TempFolders.Add($path)
    $path
}

function New-TestStore {
    <# The path of a not-yet-existing store file in a fresh temp folder (the module creates the database). #>
    param([string]$Folder)
    if (-not $Folder) { $Folder = New-TestFolder -Prefix 'arcp-store' }
    Join-Path $Folder 'arcp.db'
}

function Remove-TestFolder {
    <# Removes every folder New-TestFolder/New-TestStore created in this session (or just -Path). #>
    param([string[]]$Path)
    $targets = if ($Path) { $Path } else { @($script:TempFolders) }
    foreach ($folder in $targets) {
        if (Test-Path -LiteralPath $folder) {
            # SQLite handles are closed when each cmdlet ends; retry briefly for slow file systems anyway.
            for ($attempt = 1; $attempt -le 5; $attempt++) {
                try { Remove-Item -LiteralPath $folder -Recurse -Force -ErrorAction Stop; break }
                catch { if ($attempt -eq 5) { Write-Warning "Could not remove test folder ${folder}: $($_.Exception.Message)" } else { [Threading.Thread]::Sleep(100 * $attempt) } }
            }
        }
        $null = $script:TempFolders.Remove($folder)
    }
}

function Get-ChildPwshCommand {
    <#
    The executable and leading arguments that start this same PowerShell in a child process. Under
    `dotnet pwsh` the process is the dotnet host, which needs pwsh.dll as its first argument.
    #>
    $exe = [Environment]::ProcessPath
    $prefix = @(if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
    if (Test-SigIntIgnored) {
        # Started from a background shell, this process ignores SIGINT and its children would inherit that, so a
        # test's real Ctrl+C would never arrive. GNU env gives the child the default disposition back.
        return [pscustomobject]@{ FilePath = '/usr/bin/env'; Prefix = [string[]](@('--default-signal=INT', $exe) + $prefix) }
    }
    [pscustomobject]@{ FilePath = $exe; Prefix = [string[]]$prefix }
}

function Test-SigIntIgnored {
    # Linux only: bit 2 (SIGINT) of the SigIgn mask in /proc/self/status.
    if (-not $IsLinux) { return $false }
    $line = Select-String -LiteralPath '/proc/self/status' -Pattern '^SigIgn:\s*([0-9a-f]+)' | Select-Object -First 1
    $line -and (([Convert]::ToUInt64($line.Matches[0].Groups[1].Value, 16) -band 2) -ne 0)
}

function Start-TestRuntimeHost {
    <#
    Starts `Start-ArcpRuntime -Listen ws://127.0.0.1:0/arcp` in a child pwsh that stays up for a whole test file,
    waits for its "listening on" banner and returns the process, the address and the pending stderr text. The
    token file is made private first: the runtime refuses one that other users could read.
    #>
    param(
        [Parameter(Mandatory)][string]$Manifest,
        [Parameter(Mandatory)][string]$TokenFile,
        [Parameter(Mandatory)][string]$Store,
        [string]$ExtraArguments = '',
        [int]$TimeoutSeconds = 90
    )
    if (-not $IsWindows) { [IO.File]::SetUnixFileMode($TokenFile, [IO.UnixFileMode]'UserRead, UserWrite') }
    $command = Get-ChildPwshCommand
    $psi = [Diagnostics.ProcessStartInfo]::new($command.FilePath)
    foreach ($a in $command.Prefix) { $psi.ArgumentList.Add($a) }
    $hostScript = "Import-Module '$Manifest'; Start-ArcpRuntime -Listen ws://127.0.0.1:0/arcp -Store '$Store' -TokenFile '$TokenFile' $ExtraArguments"
    foreach ($a in '-NoProfile', '-NonInteractive', '-Command', $hostScript) { $psi.ArgumentList.Add($a) }
    $psi.UseShellExecute = $false
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.Environment['NO_COLOR'] = '1'
    $process = [Diagnostics.Process]::Start($psi)
    $errors = $process.StandardError.ReadToEndAsync()
    $banner = $process.StandardOutput.ReadLineAsync()
    $runtime = if ($banner.Wait($TimeoutSeconds * 1000) -and $banner.Result -match 'listening on (wss?://\S+)') { $Matches[1] }
    if (-not $runtime) {
        if (-not $process.HasExited) { $process.Kill($true) }
        throw "The runtime host did not start: $($banner.Result) $(if ($process.HasExited) { $errors.Result })"
    }
    # Keep draining the host's output so it never blocks on a full pipe.
    $null = $process.StandardOutput.ReadToEndAsync()
    [pscustomobject]@{ Process = $process; Runtime = $runtime; Errors = $errors }
}

function Start-ChildPwsh {
    <#
    .SYNOPSIS
        Runs a script file (or script text) in a child pwsh and waits for it.
    .DESCRIPTION
        The child inherits this process's environment, changed by -Environment (a $null value removes a
        variable), so tests never have to modify the environment of the test process itself. Returns
        ExitCode, Output (the non-empty stdout lines), StdOut and StdErr (raw text). A child that runs longer than
        -TimeoutSeconds is killed (with its process tree) and the call throws.

        With -NoWait it returns a handle at once instead; pass it to Wait-ChildPwsh for the result. That
        lets independent children (each with its own store) run side by side on a multi-core machine.
    #>
    [CmdletBinding(DefaultParameterSetName = 'File')]
    param(
        [Parameter(Mandatory, ParameterSetName = 'File', Position = 0)][string]$FilePath,
        [Parameter(Mandatory, ParameterSetName = 'Text')][string]$ScriptText,
        [string[]]$ArgumentList = @(),
        [hashtable]$Environment = @{},
        [int]$TimeoutSeconds = 300,
        [switch]$NoWait
    )

    $scriptFolder = $null
    if ($PSCmdlet.ParameterSetName -eq 'Text') {
        $scriptFolder = New-TestFolder -Prefix 'arcp-child'
        $FilePath = Join-Path $scriptFolder 'child.ps1'
        [IO.File]::WriteAllText($FilePath, $ScriptText, [Text.UTF8Encoding]::new($false))
    }

    try {
        $command = Get-ChildPwshCommand
        $psi = [System.Diagnostics.ProcessStartInfo]::new($command.FilePath)
        foreach ($a in $command.Prefix) { $psi.ArgumentList.Add($a) }
        foreach ($a in '-NoProfile', '-NonInteractive', '-File', $FilePath) { $psi.ArgumentList.Add($a) }
        foreach ($a in $ArgumentList) { $psi.ArgumentList.Add([string]$a) }
        $psi.UseShellExecute = $false
        $psi.RedirectStandardOutput = $true
        $psi.RedirectStandardError = $true
        $psi.RedirectStandardInput = $true
        $psi.StandardOutputEncoding = [Text.UTF8Encoding]::new($false)
        $psi.StandardErrorEncoding = [Text.UTF8Encoding]::new($false)
        $psi.WorkingDirectory = (Get-Location -PSProvider FileSystem).ProviderPath
        # Plain text: no ANSI escapes in what the tests read back.
        $psi.Environment['NO_COLOR'] = '1'
        foreach ($name in $Environment.Keys) {
            if ($null -eq $Environment[$name]) { $null = $psi.Environment.Remove($name) }
            else { $psi.Environment[$name] = [string]$Environment[$name] }
        }

        $process = [System.Diagnostics.Process]::Start($psi)
        $process.StandardInput.Close()
        $handle = [pscustomobject]@{
            PSTypeName   = 'ArcpTest.ChildPwsh'
            Process      = $process
            StdOutTask   = $process.StandardOutput.ReadToEndAsync()
            StdErrTask   = $process.StandardError.ReadToEndAsync()
            FilePath     = $FilePath
            ScriptFolder = $scriptFolder
            Deadline     = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
            Timeout      = $TimeoutSeconds
        }
        $scriptFolder = $null   # the handle owns it now
    }
    finally {
        if ($scriptFolder) { Remove-TestFolder -Path $scriptFolder }
    }

    if ($NoWait) { return $handle }
    Wait-ChildPwsh -Handle $handle
}

function Wait-ChildPwsh {
    <# Waits for children started with Start-ChildPwsh -NoWait; returns their results in the same order. #>
    param([Parameter(Mandatory, ValueFromPipeline)][psobject[]]$Handle)
    process {
        foreach ($h in $Handle) {
            $process = $h.Process
            try {
                $remaining = [int][Math]::Max(0, ($h.Deadline - [DateTime]::UtcNow).TotalMilliseconds)
                if (-not $process.WaitForExit($remaining)) {
                    try { $process.Kill($true) } catch { $null = $_ }
                    $null = $process.WaitForExit(10000)
                    throw "Child pwsh '$($h.FilePath)' did not finish within $($h.Timeout) s and was killed. Output so far:`n$(if ($h.StdOutTask.IsCompleted) { $h.StdOutTask.Result })"
                }
                $process.WaitForExit()   # lets the redirected streams drain
                $out = $h.StdOutTask.GetAwaiter().GetResult()
                $err = $h.StdErrTask.GetAwaiter().GetResult()
                [pscustomobject]@{
                    ExitCode = $process.ExitCode
                    Output   = [string[]]@(($out -replace "`r`n", "`n").TrimEnd("`n") -split "`n" | Where-Object { $_ })
                    StdOut   = $out
                    StdErr   = $err
                }
            }
            finally {
                $process.Dispose()
                if ($h.ScriptFolder) { Remove-TestFolder -Path $h.ScriptFolder }
            }
        }
    }
}

function Format-ChildResult {
    <# A readable dump of a child run, for Should -Because messages. #>
    param([Parameter(Mandatory)]$Result)
    "exit code $($Result.ExitCode)`n--- stdout ---`n$($Result.StdOut)`n--- stderr ---`n$($Result.StdErr)"
}

function Get-ResumeValue {
    <# The RESUME_JOB_ID / RESUME_AFTER_MSG_ID / RESUME_CHECKPOINT_ID values printed by main.ps1. #>
    param([string[]]$Line)
    $values = [ordered]@{}
    foreach ($l in $Line) {
        if ($l -match '^(RESUME_JOB_ID|RESUME_AFTER_MSG_ID|RESUME_CHECKPOINT_ID)=(.+)$') { $values[$Matches[1]] = $Matches[2] }
    }
    $values
}

function Read-CounterFile {
    <#
    The body runs recorded by the counting workflows: one line per run, "<step> <pid>[ <extra>]".
    Returns objects with Step, ProcessId and Extra, in run order (empty when the file does not exist).
    #>
    param([Parameter(Mandatory)][string]$Path)
    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) { return }
    foreach ($line in [IO.File]::ReadAllLines($Path)) {
        if (-not $line) { continue }
        $parts = $line -split ' ', 3
        [pscustomobject]@{ Step = $parts[0]; ProcessId = [int]$parts[1]; Extra = $(if ($parts.Count -gt 2) { $parts[2] }) }
    }
}

function Get-StoreSnapshot {
    <#
    Everything a store records that a rejected command must leave alone, as one comparable string:
    every job (id, name, workflow, state, last checkpoint and message, result, error, idempotency key)
    and every checkpoint with its output. Requires the module to be imported.
    #>
    param([Parameter(Mandatory)][string]$Store)
    $jobs = @(Get-ArcpJob -Store $Store -ErrorAction Stop | Sort-Object JobId)
    $data = foreach ($job in $jobs) {
        [ordered]@{
            JobId            = $job.JobId
            Name             = $job.Name
            Workflow         = $job.Workflow
            State            = "$($job.State)"
            LastCheckpointId = $job.LastCheckpointId
            LastMessageId    = $job.LastMessageId
            Result           = $job.Result
            Error            = $(if ($job.Error) { "$($job.Error.Code): $($job.Error.Message)" })
            IdempotencyKey   = $job.IdempotencyKey
            Checkpoints      = @(Get-ArcpCheckpoint -JobId $job.JobId -Store $Store -ErrorAction Stop | ForEach-Object {
                    [ordered]@{
                        CheckpointId = $_.CheckpointId; Step = $_.Step; StepIndex = $_.StepIndex; MessageId = $_.MessageId
                        IdempotencyKey = $_.IdempotencyKey; CreatedAt = $_.CreatedAt.ToString('o'); Output = $_.Output
                    }
                })
        }
    }
    ConvertTo-Json -InputObject @($data) -Depth 30 -Compress
}

function Get-Sha256 {
    param([Parameter(Mandatory)][AllowEmptyString()][string]$Text)
    [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($Text)))
}

function Compare-DeepValue {
    <#
    .SYNOPSIS
        Compares a value as a step produced it with the value that came back from the JSON round trip.
    .DESCRIPTION
        Returns one line per difference (nothing when equal). The rules are those of the module's JSON
        round trip: a [hashtable] comes back as a [hashtable] with the same keys, any other dictionary as an
        [ordered] dictionary with the same keys in the same order, a [pscustomobject] as a [pscustomobject]
        with the same property names in the same order; lists come back as object[] of the same length (a
        single-element array stays an array, an empty one stays empty) except byte[], which stays byte[];
        every other value keeps its exact type. Strings compare ordinally; doubles bit for bit; decimals
        with their scale; a Utc or Unspecified DateTime keeps its kind and ticks, a Local one its kind and
        instant; a DateTimeOffset keeps its ticks and offset. -Counter (a [ref] to an int) counts leaf comparisons.
    #>
    param(
        [AllowNull()]$Expected,
        [AllowNull()]$Actual,
        [string]$Path = '$',
        [ref]$Counter
    )
    # A [pscustomobject] is its PSObject wrapper (the data lives there); anything else is compared unwrapped.
    $isCustom = { param($v) $null -ne $v -and $v.psobject.BaseObject -is [System.Management.Automation.PSCustomObject] }
    # (Assignments inside the branches: `$x = if (...) { $array }` would unroll a single-element array.)
    $e = $Expected
    if ($null -ne $Expected -and -not (& $isCustom $Expected)) { $e = $Expected.psobject.BaseObject }
    $a = $Actual
    if ($null -ne $Actual -and -not (& $isCustom $Actual)) { $a = $Actual.psobject.BaseObject }
    $typeOf = { param($v) if ($null -eq $v) { '$null' } elseif (& $isCustom $v) { 'pscustomobject' } else { $v.GetType().FullName } }
    $leaf = { if ($Counter) { $Counter.Value++ } }
    $more = @{}
    if ($Counter) { $more.Counter = $Counter }

    if ($null -eq $e) {
        & $leaf
        if ($null -ne $a) { "${Path}: expected `$null, got $(& $typeOf $a) '$a'" }
        return
    }
    if ($null -eq $a) { "${Path}: expected $(& $typeOf $e) '$e', got `$null"; return }

    if (& $isCustom $e) {
        if (-not (& $isCustom $a)) { "${Path}: expected a [pscustomobject], got $(& $typeOf $a)"; return }
        $eNames = [string[]]@($e.PSObject.Properties | ForEach-Object Name)
        $aNames = [string[]]@($a.PSObject.Properties | ForEach-Object Name)
        if (($eNames -join "`0") -cne ($aNames -join "`0")) { "${Path}: expected properties [$($eNames -join ', ')], got [$($aNames -join ', ')]"; return }
        foreach ($name in $eNames) { Compare-DeepValue -Expected $e.$name -Actual $a.$name -Path "$Path.$name" @more }
        return
    }
    if ($e -is [System.Collections.IDictionary]) {
        $wanted = if ($e -is [hashtable]) { [hashtable] } else { [System.Collections.Specialized.OrderedDictionary] }
        if ($a.GetType() -ne $wanted) { "${Path}: expected a $($wanted.FullName), got $(& $typeOf $a)"; return }
        $eNames = [string[]]@($e.Keys | ForEach-Object { "$_" })
        $aNames = [string[]]@($a.Keys | ForEach-Object { "$_" })
        # A hashtable has no order to keep; an [ordered] dictionary does.
        if ($e -is [hashtable]) { $eNames = [string[]]@($eNames | Sort-Object -CaseSensitive); $aNames = [string[]]@($aNames | Sort-Object -CaseSensitive) }
        if (($eNames -join "`0") -cne ($aNames -join "`0")) { "${Path}: expected keys [$($eNames -join ', ')], got [$($aNames -join ', ')]"; return }
        foreach ($name in $eNames) { Compare-DeepValue -Expected $e[$name] -Actual $a[$name] -Path "$Path.$name" @more }
        return
    }
    if ($e -is [byte[]]) {
        & $leaf
        if ($a -isnot [byte[]] -or [Convert]::ToHexString($a) -cne [Convert]::ToHexString($e)) { "${Path}: expected byte[] $([Convert]::ToHexString($e)), got $(& $typeOf $a)" }
        return
    }
    if ($e -is [System.Collections.IList] -and $e -isnot [string]) {
        if ($a -isnot [object[]]) { "${Path}: expected an array (object[]) of $($e.Count), got $(& $typeOf $a)"; return }
        if ($a.Count -ne $e.Count) { "${Path}: expected $($e.Count) element(s), got $($a.Count)"; return }
        for ($i = 0; $i -lt $e.Count; $i++) { Compare-DeepValue -Expected $e[$i] -Actual $a[$i] -Path "$Path[$i]" @more }
        return
    }

    & $leaf
    if ($a.GetType() -ne $e.GetType()) { "${Path}: expected $(& $typeOf $e) '$e', got $(& $typeOf $a) '$a'"; return }
    $same = switch ($e) {
        { $_ -is [string] } { [string]::Equals($e, $a, [StringComparison]::Ordinal); break }
        # Bit for bit, so that 0.1 stays 0.1, negative zero keeps its sign and NaN equals NaN.
        { $_ -is [double] } { [BitConverter]::DoubleToInt64Bits($a) -eq [BitConverter]::DoubleToInt64Bits($e); break }
        # ToString keeps a decimal's scale (1.50 is not 1.5 for a decimal).
        { $_ -is [decimal] } { $a.ToString([cultureinfo]::InvariantCulture) -ceq $e.ToString([cultureinfo]::InvariantCulture); break }
        { $_ -is [datetime] } {
            $a.Kind -eq $e.Kind -and $(if ($e.Kind -eq [DateTimeKind]::Local) { $a.ToUniversalTime().Ticks -eq $e.ToUniversalTime().Ticks } else { $a.Ticks -eq $e.Ticks })
            break
        }
        { $_ -is [DateTimeOffset] } { $a.Ticks -eq $e.Ticks -and $a.Offset -eq $e.Offset; break }
        default { $e.Equals($a) }
    }
    if (-not $same) {
        $show = { param($v) if ($v -is [IFormattable]) { [string]::Format([cultureinfo]::InvariantCulture, $(if ($v -is [datetime] -or $v -is [DateTimeOffset]) { '{0:o}' } elseif ($v -is [double]) { '{0:R}' } else { '{0}' }), $v) } else { "$v" } }
        "${Path}: expected $(& $typeOf $e) $(& $show $e), got $(& $show $a)"
    }
}

function Get-ValueDescription {
    <#
    A one-line canonical text of a value's type and value under the rules of Compare-DeepValue, so that two
    processes can compare what they saw: dictionaries and objects list their entries, Local dates show
    their instant, doubles their bits. The same value gives the same text in every process and time zone.
    #>
    param([AllowNull()]$Value)
    if ($null -eq $Value) { return 'null' }
    if ($Value.psobject.BaseObject -is [System.Management.Automation.PSCustomObject]) {
        return 'pscustomobject{' + (@($Value.PSObject.Properties | ForEach-Object { "$($_.Name)=$(Get-ValueDescription $_.Value)" }) -join ',') + '}'
    }
    $v = $Value.psobject.BaseObject
    $type = $v.GetType().FullName
    if ($v -is [System.Collections.IDictionary]) {
        $entries = @(foreach ($key in $v.Keys) { "$key=$(Get-ValueDescription $v[$key])" })
        if ($v -is [hashtable]) { $entries = @($entries | Sort-Object -CaseSensitive) }
        return "$type{$($entries -join ',')}"
    }
    if ($v -is [byte[]]) { return "$type " + [Convert]::ToHexString($v) }
    if ($v -is [System.Collections.IList]) { return "$type[" + (@(foreach ($item in $v) { Get-ValueDescription $item }) -join ',') + ']' }
    $text = switch ($v) {
        { $_ -is [double] } { [BitConverter]::DoubleToInt64Bits($v); break }
        { $_ -is [float] } { [BitConverter]::SingleToInt32Bits($v); break }
        { $_ -is [datetime] } { "$($v.Kind) $(if ($v.Kind -eq [DateTimeKind]::Local) { $v.ToUniversalTime().Ticks } else { $v.Ticks })"; break }
        { $_ -is [DateTimeOffset] } { "$($v.Ticks) $($v.Offset)"; break }
        # String.Format calls IFormattable.ToString(null, culture), which some types (char) only implement explicitly.
        { $_ -is [IFormattable] } { [string]::Format([cultureinfo]::InvariantCulture, '{0}', $v); break }
        default { "$v" }
    }
    "$type $text"
}

function New-RoundTripPayload {
    <#
    A step output with every kind of value the JSON round trip must preserve. Built fresh on every call
    and identical in every process and time zone (the Local date is a fixed instant).
    #>
    $emoji = [char]::ConvertFromUtf32(0x1F600)
    [ordered]@{
        Text          = 'plain ASCII'
        Unicode       = "Gr$([char]0x00FC)$([char]0x00DF)e, $([char]0x4E16)$([char]0x754C), $emoji, $([char]0x05E9)$([char]0x05DC)$([char]0x05D5)$([char]0x05DD), e$([char]0x0301), tab`tquote`"backslash\"
        EmptyString   = ''
        Int           = 42
        NegativeInt   = -7
        Long          = 9007199254740993L
        Double        = 3.14159
        WholeDouble   = 2.0
        NegativeZero  = [double]::NegativeZero
        Decimal       = 1.2345678901234567890123456789d
        SmallDecimal  = 0.1d
        True          = $true
        False         = $false
        Null          = $null
        Utc           = [datetime]::new(2024, 3, 15, 12, 30, 45, 123, [DateTimeKind]::Utc).AddTicks(4567)
        Local         = [datetime]::new(2024, 7, 1, 2, 30, 0, [DateTimeKind]::Utc).ToLocalTime()
        Unspecified   = [datetime]::new(2024, 5, 6, 7, 8, 9, [DateTimeKind]::Unspecified)
        Offset        = [DateTimeOffset]::new(2024, 1, 2, 3, 4, 5, [TimeSpan]::FromHours(5.5))
        Nested        = [ordered]@{
            Level1 = [ordered]@{
                Level2 = [pscustomobject]@{ Leaf = 'deep'; Numbers = @(1, 2, 3) }
            }
        }
        Object        = [pscustomobject]@{ Name = 'x'; Tags = @('a', 'b'); Empty = [pscustomobject]@{} }
        SingleString  = @('only')
        SingleNumber  = , 5
        EmptyArray    = @()
        NestedArrays  = @(@(1, @(2, 3)), @(), , @('x'))
        Mixed         = @(1, 'two', $null, $true, 2.5, [pscustomobject]@{ A = 1 }, [ordered]@{ B = $null })
    }
}

Export-ModuleMember -Function *-*

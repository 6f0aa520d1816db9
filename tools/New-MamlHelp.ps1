<#
.SYNOPSIS
    Generates the module's MAML help (en-US/Arcp.Resumability.dll-Help.xml) from the compiled cmdlets
    and the hand-written text in docs/help.

.DESCRIPTION
    platyPS is not available, so this script does its job: names, parameter sets, positions, types,
    pipeline input, aliases and wildcard support come from the compiled cmdlets (so they never drift);
    synopsis, description, parameter descriptions, examples, notes and links come from
    docs/help/<Verb-Noun>.psd1, with parameters every cmdlet shares (e.g. -Store) described once in
    docs/help/_Common.psd1.

    Run by `build.ps1 build` in a child pwsh after publishing (importing the module's DLL here would
    keep it loaded in the caller's session). A cmdlet or parameter without text is reported as a
    warning and still gets a help entry, so a missing description shows up as a failing help test
    rather than a broken build.

.EXAMPLE
    pwsh -NoProfile -File tools/New-MamlHelp.ps1 -ModuleManifest out/Arcp.Resumability/Arcp.Resumability.psd1 -HelpSource docs/help
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string]$ModuleManifest,
    [Parameter(Mandatory)][string]$HelpSource,
    # Defaults to <module folder>/en-US/<root module>-Help.xml.
    [string]$OutputPath
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$module = Import-Module -Name (Resolve-Path -LiteralPath $ModuleManifest).ProviderPath -PassThru -Force
if (-not $OutputPath) {
    # Get-Help looks for a binary module's help as <culture>/<assembly file name>-Help.xml.
    $root = (Import-PowerShellDataFile -LiteralPath $ModuleManifest).RootModule
    $OutputPath = Join-Path $module.ModuleBase "en-US/$root-Help.xml"
}

$commonPath = Join-Path $HelpSource '_Common.psd1'
$common = if (Test-Path -LiteralPath $commonPath) { Import-PowerShellDataFile -LiteralPath $commonPath } else { @{ Parameters = @{} } }
$commonParameters = [System.Collections.Generic.HashSet[string]]::new(
    [string[]]([System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters),
    [StringComparer]::OrdinalIgnoreCase)

$ns = @{
    maml    = 'http://schemas.microsoft.com/maml/2004/10'
    command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
    dev     = 'http://schemas.microsoft.com/maml/dev/2004/10'
}

$settings = [System.Xml.XmlWriterSettings]::new()
$settings.Indent = $true
$settings.Encoding = [System.Text.UTF8Encoding]::new($false)
$null = New-Item -ItemType Directory -Force -Path (Split-Path -Parent $OutputPath)
$writer = [System.Xml.XmlWriter]::Create($OutputPath, $settings)

function Write-Paras([string]$Prefix, [string]$Name, [string]$Text) {
    $writer.WriteStartElement($Prefix, $Name, $ns[$Prefix])
    # Blank lines separate paragraphs; single line breaks inside a paragraph are kept as spaces.
    foreach ($para in ($Text -split "(?:\r?\n){2,}")) {
        $writer.WriteElementString('maml', 'para', $ns.maml, (($para -split "\r?\n" | ForEach-Object Trim) -join ' ').Trim())
    }
    $writer.WriteEndElement()
}

function Get-ParameterText([string]$Command, [hashtable]$Help, [string]$Parameter) {
    if ($Help.ContainsKey('Parameters') -and $Help.Parameters.ContainsKey($Parameter)) { return $Help.Parameters[$Parameter] }
    if ($common.Parameters.ContainsKey($Parameter)) { return $common.Parameters[$Parameter] }
    Write-Warning "${Command}: parameter -$Parameter has no description in $HelpSource."
    return ''
}

function Get-PipelineInput($Parameter) {
    $kinds = @()
    if ($Parameter.ValueFromPipeline) { $kinds += 'ByValue' }
    if ($Parameter.ValueFromPipelineByPropertyName) { $kinds += 'ByPropertyName' }
    if ($kinds) { "True ($($kinds -join ', '))" } else { 'False' }
}

function Write-Parameter($Command, $Help, $Parameter, $SetParameter) {
    $isSwitch = $Parameter.ParameterType -eq [switch]
    $position = if ($SetParameter -and $SetParameter.Position -ge 0) { [string]$SetParameter.Position } else { 'named' }
    $required = if ($SetParameter) { $SetParameter.IsMandatory } else { @($Parameter.ParameterSets.Values | Where-Object IsMandatory).Count -gt 0 }
    $globbing = @($Parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] }).Count -gt 0
    $writer.WriteStartElement('command', 'parameter', $ns.command)
    $writer.WriteAttributeString('required', ([string]$required).ToLowerInvariant())
    $writer.WriteAttributeString('variableLength', ([string]$Parameter.ParameterType.IsArray).ToLowerInvariant())
    $writer.WriteAttributeString('globbing', ([string]$globbing).ToLowerInvariant())
    $writer.WriteAttributeString('pipelineInput', (Get-PipelineInput ($(if ($SetParameter) { $SetParameter } else { @($Parameter.ParameterSets.Values)[0] }))))
    $writer.WriteAttributeString('position', $position)
    $writer.WriteAttributeString('aliases', $(if ($Parameter.Aliases.Count) { $Parameter.Aliases -join ', ' } else { 'none' }))
    $writer.WriteElementString('maml', 'name', $ns.maml, $Parameter.Name)
    Write-Paras 'maml' 'description' (Get-ParameterText $Command $Help $Parameter.Name)
    $typeName = $Parameter.ParameterType.Name
    if (-not $isSwitch) {
        $writer.WriteStartElement('command', 'parameterValue', $ns.command)
        $writer.WriteAttributeString('required', 'true')
        $writer.WriteAttributeString('variableLength', ([string]$Parameter.ParameterType.IsArray).ToLowerInvariant())
        $writer.WriteString($typeName)
        $writer.WriteEndElement()
    }
    $enumType = if ($Parameter.ParameterType.IsArray) { $Parameter.ParameterType.GetElementType() } else { $Parameter.ParameterType }
    if ($enumType.IsEnum) {
        $writer.WriteStartElement('command', 'parameterValueGroup', $ns.command)
        foreach ($value in [Enum]::GetNames($enumType)) {
            $writer.WriteStartElement('command', 'parameterValue', $ns.command)
            $writer.WriteAttributeString('required', 'false')
            $writer.WriteAttributeString('variableLength', 'false')
            $writer.WriteString($value)
            $writer.WriteEndElement()
        }
        $writer.WriteEndElement()
    }
    $writer.WriteStartElement('dev', 'type', $ns.dev)
    $writer.WriteElementString('maml', 'name', $ns.maml, $Parameter.ParameterType.FullName)
    $writer.WriteEndElement()
    $writer.WriteElementString('dev', 'defaultValue', $ns.dev, $(if ($isSwitch) { 'False' } else { 'None' }))
    $writer.WriteEndElement()
}

$writer.WriteStartDocument()
$writer.WriteStartElement('helpItems', 'http://msh')
$writer.WriteAttributeString('schema', 'maml')

foreach ($command in @($module.ExportedCmdlets.Values | Sort-Object Name)) {
    $name = $command.Name
    $helpFile = Join-Path $HelpSource "$name.psd1"
    $help = if (Test-Path -LiteralPath $helpFile) { Import-PowerShellDataFile -LiteralPath $helpFile } else {
        Write-Warning "${name}: no help text at $helpFile."
        @{}
    }
    $parameters = @($command.Parameters.Values | Where-Object { -not $commonParameters.Contains($_.Name) } | Sort-Object {
            $p = @($_.ParameterSets.Values | Where-Object { $_.Position -ge 0 } | ForEach-Object Position)
            if ($p) { ($p | Measure-Object -Minimum).Minimum } else { [int]::MaxValue }
        }, { -not (@($_.ParameterSets.Values | Where-Object IsMandatory).Count) }, Name)

    $writer.WriteStartElement('command', 'command', $ns.command)
    $writer.WriteAttributeString('xmlns', 'maml', $null, $ns.maml)
    $writer.WriteAttributeString('xmlns', 'dev', $null, $ns.dev)

    $writer.WriteStartElement('command', 'details', $ns.command)
    $writer.WriteElementString('command', 'name', $ns.command, $name)
    $writer.WriteElementString('command', 'verb', $ns.command, $command.Verb)
    $writer.WriteElementString('command', 'noun', $ns.command, $command.Noun)
    Write-Paras 'maml' 'description' ([string]$help['Synopsis'])
    $writer.WriteEndElement()
    Write-Paras 'maml' 'description' ([string]$help['Description'])

    $writer.WriteStartElement('command', 'syntax', $ns.command)
    foreach ($set in @($command.ParameterSets | Sort-Object { -not $_.IsDefault }, Name)) {
        $writer.WriteStartElement('command', 'syntaxItem', $ns.command)
        $writer.WriteElementString('maml', 'name', $ns.maml, $name)
        $setParameters = @($set.Parameters | Where-Object { -not $commonParameters.Contains($_.Name) })
        foreach ($parameter in $parameters) {
            $inSet = $setParameters | Where-Object Name -EQ $parameter.Name | Select-Object -First 1
            if ($inSet) { Write-Parameter $name $help $parameter $inSet }
        }
        $writer.WriteEndElement()
    }
    $writer.WriteEndElement()

    $writer.WriteStartElement('command', 'parameters', $ns.command)
    foreach ($parameter in $parameters) {
        $sets = @($parameter.ParameterSets.Values)
        $single = if ($sets.Count -eq 1) { $sets[0] } else { $null }
        Write-Parameter $name $help $parameter $single
    }
    $writer.WriteEndElement()

    $writer.WriteStartElement('command', 'inputTypes', $ns.command)
    foreach ($input in @($help['Inputs'])) {
        if (-not $input) { continue }
        $writer.WriteStartElement('command', 'inputType', $ns.command)
        $writer.WriteStartElement('dev', 'type', $ns.dev)
        $writer.WriteElementString('maml', 'name', $ns.maml, $input.Type)
        $writer.WriteEndElement()
        Write-Paras 'maml' 'description' $input.Description
        $writer.WriteEndElement()
    }
    $writer.WriteEndElement()

    $writer.WriteStartElement('command', 'returnValues', $ns.command)
    foreach ($output in @($command.OutputType)) {
        $writer.WriteStartElement('command', 'returnValue', $ns.command)
        $writer.WriteStartElement('dev', 'type', $ns.dev)
        $writer.WriteElementString('maml', 'name', $ns.maml, $output.Name)
        $writer.WriteEndElement()
        Write-Paras 'maml' 'description' ([string]$help['Outputs'])
        $writer.WriteEndElement()
    }
    $writer.WriteEndElement()

    if ($help['Notes']) {
        $writer.WriteStartElement('maml', 'alertSet', $ns.maml)
        $writer.WriteStartElement('maml', 'alert', $ns.maml)
        foreach ($para in ([string]$help.Notes -split "(?:\r?\n){2,}")) {
            $writer.WriteElementString('maml', 'para', $ns.maml, (($para -split "\r?\n" | ForEach-Object Trim) -join ' ').Trim())
        }
        $writer.WriteEndElement()
        $writer.WriteEndElement()
    }

    $examples = @($help['Examples'] | Where-Object { $_ })
    if (-not $examples) { Write-Warning "${name}: no examples in $helpFile." }
    $writer.WriteStartElement('command', 'examples', $ns.command)
    $n = 0
    foreach ($example in $examples) {
        $n++
        $writer.WriteStartElement('command', 'example', $ns.command)
        $writer.WriteElementString('maml', 'title', $ns.maml, "-------------------------- Example ${n}: $($example.Title) --------------------------")
        $writer.WriteElementString('dev', 'code', $ns.dev, $example.Code.Trim())
        $writer.WriteStartElement('dev', 'remarks', $ns.dev)
        foreach ($para in ([string]$example.Remarks -split "(?:\r?\n){2,}")) {
            $writer.WriteElementString('maml', 'para', $ns.maml, (($para -split "\r?\n" | ForEach-Object Trim) -join ' ').Trim())
        }
        $writer.WriteEndElement()
        $writer.WriteEndElement()
    }
    $writer.WriteEndElement()

    $writer.WriteStartElement('command', 'relatedLinks', $ns.command)
    foreach ($link in @(@($help['Links']) + 'about_Arcp_Resumability' | Where-Object { $_ } | Select-Object -Unique)) {
        $writer.WriteStartElement('maml', 'navigationLink', $ns.maml)
        $writer.WriteElementString('maml', 'linkText', $ns.maml, $link)
        $writer.WriteElementString('maml', 'uri', $ns.maml, '')
        $writer.WriteEndElement()
    }
    $writer.WriteEndElement()

    $writer.WriteEndElement()
}

$writer.WriteEndElement()
$writer.WriteEndDocument()
$writer.Dispose()
Write-Host "Help: $OutputPath ($(@($module.ExportedCmdlets.Keys).Count) cmdlets)"

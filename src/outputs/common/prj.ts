/**
 * ESRI WKT (.prj text) and EPSG codes for the output spatial references we know without a
 * projection database: WGS 84, NAD83, ETRS89, Web Mercator and the WGS 84 UTM zones.
 */

const WGS84 =
  'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]';
const NAD83 =
  'GEOGCS["GCS_North_American_1983",DATUM["D_North_American_1983",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]';
const ETRS89 =
  'GEOGCS["GCS_ETRS_1989",DATUM["D_ETRS_1989",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]';
const WEB_MERCATOR = `PROJCS["WGS_1984_Web_Mercator_Auxiliary_Sphere",${WGS84},PROJECTION["Mercator_Auxiliary_Sphere"],PARAMETER["False_Easting",0.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",0.0],PARAMETER["Standard_Parallel_1",0.0],PARAMETER["Auxiliary_Sphere_Type",0.0],UNIT["Meter",1.0]]`;

/** The EPSG code of a wkid (Esri's 102100 / 102113 / 900913 are 3857). */
export function epsgCode(wkid: number): number {
  return wkid === 102100 || wkid === 102113 || wkid === 900913 ? 3857 : wkid;
}

/** The ESRI WKT of a wkid, or undefined when we do not know it. */
export function esriWkt(wkid: number): string | undefined {
  const code = epsgCode(wkid);
  if (code === 4326) return WGS84;
  if (code === 4269) return NAD83;
  if (code === 4258) return ETRS89;
  if (code === 3857) return WEB_MERCATOR;
  const north = code >= 32601 && code <= 32660;
  const south = code >= 32701 && code <= 32760;
  if (north || south) {
    const zone = code % 100;
    const meridian = -183 + 6 * zone;
    return `PROJCS["WGS_1984_UTM_Zone_${zone}${north ? 'N' : 'S'}",${WGS84},PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",${north ? '0.0' : '10000000.0'}],PARAMETER["Central_Meridian",${meridian}.0],PARAMETER["Scale_Factor",0.9996],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]`;
  }
  return undefined;
}

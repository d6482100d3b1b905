/**
 * Spatial references the binary formats register: WKT 1 (GeoPackage's gpkg_spatial_ref_sys) and
 * PROJJSON (GeoParquet's `crs`) for the ones arcgis-etl knows: EPSG:4326 (x = longitude, as ArcGIS
 * returns it, so GeoParquet gets OGC:CRS84, the same datum in longitude/latitude order) and
 * EPSG:3857 (Esri's 102100 and 102113 are the same system). Other wkids are known by number only.
 */

export interface KnownSrs {
  /** EPSG code. */
  epsg: number;
  name: string;
  wkt: string;
  projjson: Record<string, unknown>;
}

const WGS84: KnownSrs = {
  epsg: 4326,
  name: 'WGS 84 geodetic',
  wkt: 'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]',
  projjson: {
    type: 'GeographicCRS',
    name: 'WGS 84',
    datum: {
      type: 'GeodeticReferenceFrame',
      name: 'World Geodetic System 1984',
      ellipsoid: { name: 'WGS 84', semi_major_axis: 6378137, inverse_flattening: 298.257223563 },
      id: { authority: 'EPSG', code: 6326 },
    },
    coordinate_system: {
      subtype: 'ellipsoidal',
      axis: [
        { name: 'Longitude', abbreviation: 'lon', direction: 'east', unit: 'degree' },
        { name: 'Latitude', abbreviation: 'lat', direction: 'north', unit: 'degree' },
      ],
    },
    id: { authority: 'OGC', code: 'CRS84' },
  },
};

const WEB_MERCATOR: KnownSrs = {
  epsg: 3857,
  name: 'WGS 84 / Pseudo-Mercator',
  wkt: 'PROJCS["WGS 84 / Pseudo-Mercator",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4326"]],PROJECTION["Mercator_1SP"],PARAMETER["central_meridian",0],PARAMETER["scale_factor",1],PARAMETER["false_easting",0],PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AXIS["Easting",EAST],AXIS["Northing",NORTH],EXTENSION["PROJ4","+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +nadgrids=@null +wktext +no_defs"],AUTHORITY["EPSG","3857"]]',
  projjson: {
    type: 'ProjectedCRS',
    name: 'WGS 84 / Pseudo-Mercator',
    base_crs: {
      name: 'WGS 84',
      datum_ensemble: {
        name: 'World Geodetic System 1984 ensemble',
        members: [
          { name: 'World Geodetic System 1984 (Transit)', id: { authority: 'EPSG', code: 1166 } },
          { name: 'World Geodetic System 1984 (G730)', id: { authority: 'EPSG', code: 1152 } },
          { name: 'World Geodetic System 1984 (G873)', id: { authority: 'EPSG', code: 1153 } },
          { name: 'World Geodetic System 1984 (G1150)', id: { authority: 'EPSG', code: 1154 } },
          { name: 'World Geodetic System 1984 (G1674)', id: { authority: 'EPSG', code: 1155 } },
          { name: 'World Geodetic System 1984 (G1762)', id: { authority: 'EPSG', code: 1156 } },
          { name: 'World Geodetic System 1984 (G2139)', id: { authority: 'EPSG', code: 1309 } },
        ],
        ellipsoid: { name: 'WGS 84', semi_major_axis: 6378137, inverse_flattening: 298.257223563 },
        accuracy: '2.0',
        id: { authority: 'EPSG', code: 6326 },
      },
      coordinate_system: {
        subtype: 'ellipsoidal',
        axis: [
          { name: 'Geodetic latitude', abbreviation: 'Lat', direction: 'north', unit: 'degree' },
          { name: 'Geodetic longitude', abbreviation: 'Lon', direction: 'east', unit: 'degree' },
        ],
      },
      id: { authority: 'EPSG', code: 4326 },
    },
    conversion: {
      name: 'Popular Visualisation Pseudo-Mercator',
      method: { name: 'Popular Visualisation Pseudo Mercator', id: { authority: 'EPSG', code: 1024 } },
      parameters: [
        {
          name: 'Latitude of natural origin',
          value: 0,
          unit: 'degree',
          id: { authority: 'EPSG', code: 8801 },
        },
        {
          name: 'Longitude of natural origin',
          value: 0,
          unit: 'degree',
          id: { authority: 'EPSG', code: 8802 },
        },
        { name: 'False easting', value: 0, unit: 'metre', id: { authority: 'EPSG', code: 8806 } },
        { name: 'False northing', value: 0, unit: 'metre', id: { authority: 'EPSG', code: 8807 } },
      ],
    },
    coordinate_system: {
      subtype: 'Cartesian',
      axis: [
        { name: 'Easting', abbreviation: 'X', direction: 'east', unit: 'metre' },
        { name: 'Northing', abbreviation: 'Y', direction: 'north', unit: 'metre' },
      ],
    },
    scope: 'Web mapping and visualisation.',
    area: 'World between 85.06°S and 85.06°N.',
    bbox: { south_latitude: -85.06, west_longitude: -180, north_latitude: 85.06, east_longitude: 180 },
    id: { authority: 'EPSG', code: 3857 },
  },
};

const KNOWN: ReadonlyMap<number, KnownSrs> = new Map([
  [4326, WGS84],
  [3857, WEB_MERCATOR],
  [102100, WEB_MERCATOR],
  [102113, WEB_MERCATOR],
  [900913, WEB_MERCATOR],
]);

/** The definition of a wkid, or undefined when arcgis-etl does not know it. */
export function knownSrs(wkid: number): KnownSrs | undefined {
  return KNOWN.get(wkid);
}

/** The authority of a wkid: Esri's own codes are 100000 and above (and 37000 to 37999), else EPSG. */
export function srsAuthority(wkid: number): 'EPSG' | 'ESRI' {
  return wkid >= 100000 || (wkid >= 37000 && wkid < 38000) ? 'ESRI' : 'EPSG';
}
